package sink_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/dispatcher/internal/sink"
)

// A transport error must not carry the sink URL: it is logged and written to
// the retry and DLQ headers, and chat/webhook URLs embed secrets.
func TestHTTPAndChat_TransportErrorHidesURL(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens: connection refused
	const token = "T000-B000-s3cr3tT0ken"
	url := "http://" + addr + "/services/" + token + "?sig=" + token

	h, err := sink.NewHTTP(sink.HTTPConfig{URL: url, Secrets: []string{secretOld}})
	require.NoError(t, err)
	c, err := sink.NewChat(sink.ChatConfig{URL: url, Template: "{{.Data.Status}}"})
	require.NoError(t, err)
	body := []byte(`{"specversion":"1.0","id":"e1","data":{"status":"delivered"}}`)
	for name, s := range map[string]interface {
		Deliver(context.Context, sink.Delivery) error
	}{"http": h, "chat": c} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			err := s.Deliver(ctx, sink.Delivery{ID: "msg_1", Key: []byte("k"), Body: body})
			require.Error(t, err)
			assert.False(t, sink.IsPermanent(err))
			assert.NotContains(t, err.Error(), token)
			assert.NotContains(t, err.Error(), "/services/")
		})
	}
}
