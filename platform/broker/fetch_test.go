package broker_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/platform/broker"
)

type scripted struct {
	errs []error
	msg  kafka.Message
}

func (s *scripted) FetchMessage(context.Context) (kafka.Message, error) {
	if len(s.errs) > 0 {
		err := s.errs[0]
		s.errs = s.errs[1:]
		return kafka.Message{}, err
	}
	return s.msg, nil
}

func TestFetchRetrying(t *testing.T) {
	dial := errors.New("failed to dial: connection refused")
	tests := map[string]struct {
		errs     []error
		wantErr  error
		attempts []int
	}{
		"first fetch succeeds":       {},
		"rides out a broker outage":  {errs: []error{dial, dial, dial}, attempts: []int{1, 2, 3}},
		"closed reader ends at once": {errs: []error{io.EOF}, wantErr: io.EOF},
		"outage then closed reader":  {errs: []error{dial, io.EOF}, wantErr: io.EOF, attempts: []int{1}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := &scripted{errs: tc.errs, msg: kafka.Message{Offset: 42}}
			var attempts []int
			m, err := broker.FetchRetrying(t.Context(), r, time.Millisecond, 4*time.Millisecond, func(err error, n int) {
				assert.ErrorIs(t, err, dial)
				attempts = append(attempts, n)
			})
			assert.Equal(t, tc.attempts, attempts)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, int64(42), m.Offset)
		})
	}
}

func TestFetchRetrying_StopsWithContext(t *testing.T) {
	r := &scripted{errs: make([]error, 1000)}
	for i := range r.errs {
		r.errs[i] = errors.New("unreachable")
	}
	ctx, cancel := context.WithCancel(t.Context())
	calls := 0
	_, err := broker.FetchRetrying(ctx, r, time.Millisecond, time.Millisecond, func(error, int) {
		if calls++; calls == 3 {
			cancel()
		}
	})
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 3, calls)
}
