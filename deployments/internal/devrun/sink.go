package devrun

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// SinkSecret is the documented demo Standard Webhooks secret devrun gives the
// dispatcher (DEVRUN_SINK_SECRET in devrun/routes.yaml) and verifies with.
const SinkSecret = "whsec_Y291cmllcmhvb2stZGV2cnVuLWRlbW8tc2VjcmV0" // base64("courierhook-devrun-demo-secret")

// sinkServer is a local webhook receiver standing in for a merchant endpoint: it
// verifies each delivery's Standard Webhooks signature and logs it, so a local run
// shows the dispatcher's HTTP sink end to end.
type sinkServer struct {
	srv      *http.Server
	ln       net.Listener
	log      *zap.Logger
	key      []byte
	received atomic.Int64
}

// startSink listens on 127.0.0.1:port, or on a free port when that one is taken.
func startSink(port int, log *zap.Logger) (*sinkServer, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil && port != 0 {
		log.Warn("webhook receiver port taken, using a free port", zap.Int("port", port), zap.Error(err))
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return nil, fmt.Errorf("starting webhook receiver: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(SinkSecret, "whsec_"))
	if err != nil {
		return nil, fmt.Errorf("decoding sink secret: %w", err)
	}
	s := &sinkServer{ln: ln, log: log, key: key}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.handle), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the webhook endpoint the dispatcher delivers to.
func (s *sinkServer) URL() string { return "http://" + s.ln.Addr().String() + "/webhooks/shipments" }

func (s *sinkServer) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
}

func (s *sinkServer) handle(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "reading body", http.StatusBadRequest)
		return
	}
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	verr := verifyStandardWebhook(s.key, id, ts, r.Header.Get("webhook-signature"), body)
	var ev struct {
		Subject string `json:"subject"`
		Data    struct {
			Status    string `json:"status"`
			SubStatus string `json:"sub_status"`
		} `json:"data"`
	}
	_ = json.Unmarshal(body, &ev)
	n := s.received.Add(1)
	if verr != nil {
		s.log.Warn("webhook receiver: bad signature", zap.Int64("n", n), zap.String("webhook_id", id), zap.Error(verr))
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	s.log.Info("webhook receiver: delivery (signature ok)", zap.Int64("n", n), zap.String("subject", ev.Subject),
		zap.String("status", ev.Data.Status), zap.String("sub_status", ev.Data.SubStatus), zap.String("webhook_id", id))
	w.WriteHeader(http.StatusNoContent)
}

// errSignature means no v1 signature in the header matches.
var errSignature = errors.New("no matching v1 signature")

// verifyStandardWebhook checks a Standard Webhooks signature: base64 HMAC-SHA256
// over "id.timestamp.body", listed as "v1,<sig>" entries separated by spaces.
func verifyStandardWebhook(key []byte, id, ts, header string, body []byte) error {
	if id == "" || ts == "" || header == "" {
		return errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	want := m.Sum(nil)
	for _, part := range strings.Fields(header) {
		v, sig, ok := strings.Cut(part, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errSignature
}
