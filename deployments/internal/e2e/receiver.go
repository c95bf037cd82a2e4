package e2e

import (
	"github.com/courierhook/pipeline/deployments/internal/devrun"
	"github.com/courierhook/pipeline/deployments/internal/receiver"
)

// NewSink starts the downstream receiver the dispatcher delivers to in bench,
// chaos and the demo's integration test: a receiver.Receiver on a free loopback
// port at /deliveries, verifying with devrun's demo secret (devrun.SinkSecret, the
// secret PipelineConfig gives the dispatcher). SetFailing on it is the chaos
// "sink-5xx" fault.
func NewSink() (*receiver.Receiver, error) {
	return receiver.New(devrun.SinkSecret, receiver.Options{Path: "/deliveries"})
}
