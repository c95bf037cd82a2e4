package httpapi

import (
	"context"
	"errors"

	"github.com/segmentio/kafka-go"
)

// Publisher makes one record durable and reports how (publish.Durable,
// publish.Discard implement it). It must be safe for concurrent use. A nil
// error means the record is durable by the returned Path and the webhook is
// acknowledged 200; an error wrapping ErrSpoolFull is answered 503 with
// Retry-After; any other error 503 as well, logged.
type Publisher interface {
	Publish(ctx context.Context, msg kafka.Message) (Path, error)
}

// Path says how a record became durable: the "durable" field of the 200
// answer and the path label of gateway_ack_latency_seconds.
type Path string

// The paths a record can take.
const (
	// PathKafka: acknowledged by Kafka (acks=all).
	PathKafka Path = "kafka"
	// PathSpool: fsynced to the gateway's disk spool.
	PathSpool Path = "spool"
	// PathDiscard: dropped (benchmark baseline only, GATEWAY_PUBLISH=false).
	PathDiscard Path = "discard"
)

// ErrSpoolFull means Kafka was unavailable and the spool had no room: the
// handler answers 503 with Retry-After.
var ErrSpoolFull = errors.New("kafka unavailable and spool full")
