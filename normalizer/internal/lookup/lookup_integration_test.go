package lookup_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/normalizer/internal/lookup"
	"github.com/courierhook/pipeline/normalizer/internal/state"
	"github.com/courierhook/pipeline/platform/broker"
	"github.com/courierhook/pipeline/platform/testkit"
	"github.com/courierhook/pipeline/schemas"
	"github.com/courierhook/pipeline/schemas/shipment"
)

func event(id, status string, at time.Time, raw kafka.Message) *shipment.Event {
	ev := &shipment.Event{ID: id, Subject: "dash:D1", Time: at}
	ev.Data.Provider, ev.Data.ShipmentID, ev.Data.Status = "dash", "D1", shipment.Status(status)
	ev.Data.OccurredAt = &at
	ev.Data.Raw.RequestID = string(broker.Header(raw, schemas.HeaderRequestID))
	return ev
}

// TestIntegrationLookup_API indexes two webhooks of one shipment the way the
// consumer does (one MULTI), writes the state, a raw record and a dispatch dead
// letter, and checks every answer of the HTTP API and the client.
func TestIntegrationLookup_API(t *testing.T) {
	t.Parallel()
	k, r := testkit.Kafka(t), testkit.Redis(t)
	raw, dispatchDLQ, retry := k.Topic(t, 1), k.Topic(t, 1), k.Topic(t, 1)
	ctx := t.Context()

	w := broker.NewWriter(k.Config(), "", nil, broker.WriterOptions{})
	defer w.Close()
	hdr := func(req string) []kafka.Header {
		return []kafka.Header{{Key: schemas.HeaderRequestID, Value: []byte(req)}, {Key: schemas.HeaderProvider, Value: []byte("dash")},
			{Key: schemas.HeaderAuth, Value: []byte("bearer")}, {Key: schemas.HeaderReceivedAt, Value: []byte("2026-05-01T08:00:00Z")}}
	}
	m1 := kafka.Message{Topic: raw, Key: []byte("D1"), Value: []byte(`{"status":"PICKING_UP","name":"Budi"}`), Headers: hdr("req-1")}
	m2 := kafka.Message{Topic: raw, Key: []byte("D1"), Value: []byte(`{"status":"LOST"}`), Headers: hdr("req-2")}
	m3 := kafka.Message{Topic: raw, Key: []byte("D1"), Value: m1.Value, Headers: hdr("req-3")} // a re-delivery of m1
	require.NoError(t, w.WriteMessages(ctx, m1, m2, m3))
	got := k.ReadAll(t, raw, 3, 10*time.Second)
	require.Len(t, got, 3)
	m1, m2, m3 = got[0], got[1], got[2]

	t1 := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	e1 := event("ev-1", "picked_up", t1, m1)
	e1.Data.Advances = true
	st, _ := state.Apply(nil, e1)
	states := state.NewRedis(r.Client, r.Prefix, time.Hour)
	require.NoError(t, states.Put(ctx, map[string]*state.Shipment{"dash:D1": st}))

	idx := lookup.NewIndex(r.Prefix, time.Hour, 10)
	b := idx.Batch()
	b.Event(m1, e1)
	b.Duplicate(m1, "ev-1") // a replay of m1's batch after a crash finds ev-1 marked
	b.Dead(m2, "unsupported_payload", t1)
	b.Duplicate(m3, "ev-1")
	pipe := r.Client.Pipeline()
	multi := pipe.Do(ctx, "multi")
	b.Queue(ctx, pipe)
	exec := pipe.Do(ctx, "exec")
	_, _ = pipe.Exec(ctx)
	require.NoError(t, multi.Err())
	require.NoError(t, exec.Err())
	ttl, err := r.Client.PTTL(ctx, r.Prefix+"lw:req-1").Result()
	require.NoError(t, err)
	assert.Greater(t, ttl, 59*time.Minute, "index entries live as long as state")

	// The dispatcher dead-lettered e1 at sink "ops-webhook" and is retrying it at "crm".
	v1, _ := json.Marshal(e1)
	require.NoError(t, w.WriteMessages(ctx,
		kafka.Message{Topic: dispatchDLQ, Key: []byte("dash:D1"), Value: v1, Headers: []kafka.Header{
			{Key: "dispatch_sink", Value: []byte("ops-webhook")}, {Key: "dispatch_attempt", Value: []byte("5")},
			{Key: schemas.HeaderDLQReason, Value: []byte("exhausted")}}},
		kafka.Message{Topic: retry, Key: []byte("dash:D1"), Value: v1, Headers: []kafka.Header{
			{Key: "dispatch_sink", Value: []byte("crm")}, {Key: "dispatch_attempt", Value: []byte("1")},
			{Key: "dispatch_not_before", Value: []byte(time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano))}}},
		kafka.Message{Topic: retry, Key: []byte("dash:OTHER"), Value: []byte(`{"id":"ev-x"}`)},
	))

	scan := lookup.NewDispatchScan(k.Brokers, []string{retry}, dispatchDLQ, 2*time.Hour, 100)
	h := lookup.NewHandler(lookup.HandlerConfig{Token: "s3cret"}, lookup.NewStore(r.Client, r.Prefix),
		lookup.States{Store: states}, lookup.NewRawTopic(k.Brokers), scan, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := &lookup.Client{Base: srv.URL, Token: "s3cret"}

	code, body, err := c.Shipment(ctx, "dash", "D1")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, string(body))
	var sa lookup.ShipmentAnswer
	require.NoError(t, json.Unmarshal(body, &sa))
	require.NotNil(t, sa.State)
	assert.Equal(t, "picked_up", sa.State.Status)
	assert.Equal(t, "ev-1", sa.State.EventID)
	require.Len(t, sa.Events, 1)
	assert.Equal(t, "req-1", sa.Events[0].RequestID)

	code, body, err = c.Webhook(ctx, "req-1")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, string(body))
	var wa lookup.WebhookAnswer
	require.NoError(t, json.Unmarshal(body, &wa))
	assert.Equal(t, lookup.Location{Topic: raw, Partition: 0, Offset: m1.Offset}, wa.Raw)
	assert.Equal(t, "bearer", wa.Auth)
	assert.Equal(t, "dash", wa.Provider)
	require.Len(t, wa.Events, 1)
	assert.Equal(t, "ev-1", wa.Events[0].ID)
	assert.Nil(t, wa.DuplicateOf, "its own event, found marked on a replay, is no duplicate")
	assert.NotContains(t, string(body), "Budi", "no payload data unless asked")

	code, body, err = c.Webhook(ctx, "req-3")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, "a re-delivery dropped by dedup is known: "+string(body))
	wa = lookup.WebhookAnswer{}
	require.NoError(t, json.Unmarshal(body, &wa))
	assert.Empty(t, wa.Events)
	assert.Equal(t, []string{"ev-1"}, wa.DuplicateOf)
	assert.Equal(t, lookup.Location{Topic: raw, Partition: 0, Offset: m3.Offset}, wa.Raw)
	assert.Nil(t, wa.Dispatch)

	code, body, err = c.Webhook(ctx, "req-1", "raw", "dispatch")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, string(body))
	wa = lookup.WebhookAnswer{}
	require.NoError(t, json.Unmarshal(body, &wa))
	assert.Contains(t, string(wa.RawBody), "Budi")
	require.Len(t, wa.Dispatch, 2, string(body))
	assert.Equal(t, lookup.Outcome{EventID: "ev-1", Sink: "crm", State: "retrying", Attempts: 1, At: wa.Dispatch[0].At}, wa.Dispatch[0])
	assert.Equal(t, "dead_lettered", wa.Dispatch[1].State)
	assert.Equal(t, "exhausted", wa.Dispatch[1].Reason)

	code, body, err = c.Webhook(ctx, "req-2")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)
	wa = lookup.WebhookAnswer{}
	require.NoError(t, json.Unmarshal(body, &wa))
	require.NotNil(t, wa.DeadLetter)
	assert.Equal(t, "unsupported_payload", wa.DeadLetter.Reason)
	assert.Empty(t, wa.Events)

	for name, tc := range map[string]struct {
		path, token string
		want        int
	}{
		"unknown webhook":  {"/v1/webhooks/nope", "s3cret", http.StatusNotFound},
		"unknown shipment": {"/v1/shipments/dash/nope", "s3cret", http.StatusNotFound},
		"no token":         {"/v1/webhooks/req-1", "", http.StatusUnauthorized},
		"wrong token":      {"/v1/webhooks/req-1", "guess", http.StatusUnauthorized},
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+tc.path, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, tc.want, resp.StatusCode, string(b))
			assert.Contains(t, string(b), `"error"`)
		})
	}

	// A scan bound below what the window holds answers 422 before reading.
	tight := lookup.NewHandler(lookup.HandlerConfig{}, lookup.NewStore(r.Client, r.Prefix), nil, nil,
		lookup.NewDispatchScan(k.Brokers, []string{retry}, dispatchDLQ, 2*time.Hour, 1), nil)
	rec := httptest.NewRecorder()
	tight.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/webhooks/req-1?include=dispatch", nil))
	assert.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	assert.Contains(t, rec.Body.String(), "too many records")
}

func TestCheckExposure(t *testing.T) {
	for addr, want := range map[string]error{
		"127.0.0.1:9091": nil, "localhost:9091": nil, "[::1]:9091": nil,
		":9091": lookup.ErrUnprotected, "0.0.0.0:9091": lookup.ErrUnprotected, "10.0.0.5:9091": lookup.ErrUnprotected,
	} {
		assert.ErrorIs(t, lookup.CheckExposure(addr, ""), want, addr)
		assert.NoError(t, lookup.CheckExposure(addr, "token"), addr)
	}
}
