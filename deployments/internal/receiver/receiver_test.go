package receiver_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/deployments/internal/receiver"
)

const secret = "whsec_" + "dGVzdC1yZWNlaXZlci1zZWNyZXQ=" // base64("test-receiver-secret")

func sign(t *testing.T, id, ts string, body []byte) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	require.NoError(t, err)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestVerify(t *testing.T) {
	body := []byte(`{"id":"x"}`)
	sig := sign(t, "msg_1", "1700000000", body)
	assert.NoError(t, receiver.Verify(secret, "msg_1", "1700000000", "v1,bm9wZQ== "+sig, body), "any listed signature may match")
	assert.ErrorIs(t, receiver.Verify(secret, "msg_1", "1700000001", sig, body), receiver.ErrSignature, "timestamp is signed")
	assert.ErrorIs(t, receiver.Verify(secret, "msg_2", "1700000000", sig, body), receiver.ErrSignature, "id is signed")
	assert.ErrorIs(t, receiver.Verify(secret, "msg_1", "1700000000", sig, []byte(`{}`)), receiver.ErrSignature, "body is signed")
	assert.ErrorIs(t, receiver.Verify(secret, "msg_1", "1700000000", "v2,"+strings.TrimPrefix(sig, "v1,"), body), receiver.ErrSignature, "only v1 entries count")
	assert.ErrorIs(t, receiver.Verify(secret, "", "1700000000", sig, body), receiver.ErrMissingHeaders)
	assert.Error(t, receiver.Verify("whsec_not base64!", "msg_1", "1700000000", sig, body))
}

// post sends one delivery of the event id, received by the gateway at receivedAt,
// signed with secret when signed is true.
func post(t *testing.T, url, id string, receivedAt time.Time, signed bool) int {
	t.Helper()
	body := fmt.Appendf(nil, `{"id":%q,"subject":"dash:D1","data":{"status":"delivered","received_at":%q}}`, id, receivedAt.Format(time.RFC3339Nano))
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	wid := "wh_" + id
	sig := sign(t, wid, ts, body)
	if !signed {
		sig = sign(t, wid, ts, []byte("other"))
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("webhook-id", wid)
	req.Header.Set("webhook-timestamp", ts)
	req.Header.Set("webhook-signature", sig)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = res.Body.Close()
	return res.StatusCode
}

// TestReceiver_CountsVerifiesAndInjectsFailures: signed deliveries are 204 and
// counted per event; a bad signature is 401 and not counted as a delivery; while
// failing, everything is 503 and only counted as refused; latencies are those of
// the events received in the asked window.
func TestReceiver_CountsVerifiesAndInjectsFailures(t *testing.T) {
	r, err := receiver.New(secret, receiver.Options{})
	require.NoError(t, err)
	t.Cleanup(r.Close)
	assert.True(t, strings.HasSuffix(r.URL(), receiver.DefaultPath), r.URL())

	early, late := time.Now().Add(-time.Hour), time.Now().Add(-time.Second)
	assert.Equal(t, http.StatusNoContent, post(t, r.URL(), "e1", early, true))
	assert.Equal(t, http.StatusNoContent, post(t, r.URL(), "e1", late, true))
	assert.Equal(t, http.StatusNoContent, post(t, r.URL(), "e2", late, true))
	assert.Equal(t, http.StatusUnauthorized, post(t, r.URL(), "e3", late, false))

	r.SetFailing(true)
	assert.Equal(t, http.StatusServiceUnavailable, post(t, r.URL(), "e4", late, true))
	assert.Equal(t, http.StatusServiceUnavailable, post(t, r.URL(), "e5", late, false), "a failing receiver refuses before verifying")
	r.SetFailing(false)
	assert.Equal(t, http.StatusNoContent, post(t, r.URL(), "e4", late, true))

	assert.Equal(t, 2, r.Delivered("e1"))
	assert.Equal(t, 1, r.Delivered("e4"))
	assert.Zero(t, r.Delivered("e3"))
	assert.Equal(t, receiver.Counts{Deliveries: 4, Distinct: 3, Refused: 2, BadSignature: 1}, r.Counts())

	lat := r.Latencies(late.Add(-time.Minute), time.Now())
	require.Len(t, lat, 3, "e1's second copy, e2 and e4; not e1's first (received an hour ago)")
	for i, l := range lat {
		assert.Greater(t, l, 500*time.Millisecond)
		if i > 0 {
			assert.LessOrEqual(t, lat[i-1], l, "sorted")
		}
	}
	assert.Len(t, r.Latencies(early.Add(-time.Minute), early.Add(time.Minute)), 1)
}

// TestNew_TakenPortFallsBack: a taken port gives a free one, not an error.
func TestNew_TakenPortFallsBack(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	r, err := receiver.New(secret, receiver.Options{Port: port, Path: "/deliveries"})
	require.NoError(t, err)
	t.Cleanup(r.Close)
	assert.NotContains(t, r.URL(), ":"+strconv.Itoa(port)+"/")
	assert.True(t, strings.HasSuffix(r.URL(), "/deliveries"))

	_, err = receiver.New("whsec_not base64!", receiver.Options{})
	assert.Error(t, err)
}
