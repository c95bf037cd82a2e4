package broker_test

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"

	"github.com/courierhook/pipeline/platform/broker"
)

func TestRecordRejected(t *testing.T) {
	cases := map[string]struct {
		err  error
		want bool
	}{
		"message too large":     {fmt.Errorf("producing to t/0: %w", kafka.MessageSizeTooLarge), true},
		"record list too large": {kafka.RecordListTooLarge, true},
		"invalid record":        {kafka.InvalidRecord, true},
		"corrupt message":       {kafka.InvalidMessage, true},
		"record-level error":    {fmt.Errorf("producing: %w", &broker.RecordError{Index: 2, Message: "bad"}), true},
		"broker down":           {io.EOF, false},
		"timeout":               {context.DeadlineExceeded, false},
		"unknown topic":         {kafka.UnknownTopicOrPartition, false},
		"auth":                  {kafka.TopicAuthorizationFailed, false},
		"not enough replicas":   {kafka.NotEnoughReplicas, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, broker.RecordRejected(tc.err))
		})
	}
}
