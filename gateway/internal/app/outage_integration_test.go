package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/gateway/internal/app"
)

// faultDialer dials the real broker until cut: then it closes every open
// connection and refuses new ones, which is what a broker outage looks like to
// the gateway while the shared broker stays up for other tests.
type faultDialer struct {
	mu    sync.Mutex
	down  bool
	conns []net.Conn
}

var errBrokerDown = errors.New("test: broker unreachable")

func (f *faultDialer) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		return nil, errBrokerDown
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		c.Close()
		return nil, errBrokerDown
	}
	f.conns = append(f.conns, c)
	return c, nil
}

func (f *faultDialer) set(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
	if down {
		for _, c := range f.conns {
			c.Close()
		}
		f.conns = nil
	}
}

func komerceBody(key string, seq int) []byte {
	return []byte(fmt.Sprintf(`{"order_no":%q,"cnote":"AWB-%s","status":"seq-%d"}`, key, key, seq))
}

// checkOrder asserts that, per key, the first occurrences of the sequence
// numbers are 0..n-1 in order (duplicates from retries are allowed).
func checkOrder(t *testing.T, msgs []kafka.Message, keys []string, n int) {
	t.Helper()
	seen := map[string][]int{}
	dup := map[string]bool{}
	for _, m := range msgs {
		id, _ := header(m, "request_id")
		if dup[id] {
			continue
		}
		dup[id] = true
		i := strings.LastIndexByte(id, '-')
		seq, err := strconv.Atoi(id[i+1:])
		require.NoError(t, err, id)
		key := string(m.Key)
		assert.Equal(t, id[:i], key, "record keyed by its order_no")
		seen[key] = append(seen[key], seq)
	}
	for _, k := range keys {
		want := make([]int, n)
		for i := range want {
			want[i] = i
		}
		assert.Equal(t, want, seen[k], "key %s: every acknowledged request, in order", k)
	}
}

func TestIntegrationBrokerOutageSpoolsAndDrainsInOrder(t *testing.T) {
	t.Parallel()
	k := kafkaEnv(t)
	topic := k.Topic(t, 3)
	fd := &faultDialer{}
	env := testEnv(k.Brokers, topic, t.TempDir())
	env["GATEWAY_ACK_TIMEOUT"] = "500ms"
	gw := startGateway(t, env, app.WithKafkaTransport(&kafka.Transport{Dial: fd.Dial, MetadataTTL: 2 * time.Second}))

	const perKey = 60
	keys := []string{"ord-a", "ord-b", "ord-c", "ord-d"}
	var spooled, kafkaAcks atomic.Int64
	var phase sync.WaitGroup // every key sender passes each phase boundary
	cut, restore := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	for _, key := range keys {
		phase.Add(1)
		wg.Go(func() {
			for seq := range perKey {
				switch seq {
				case perKey / 4:
					phase.Done()
					<-cut
				case perKey * 3 / 4:
					<-restore
				}
				id := fmt.Sprintf("%s-%d", key, seq)
				res := post(t, http.MethodPost, gw.url+"/webhooks/komerce/"+komerceToken, komerceBody(key, seq), map[string]string{"X-Request-Id": id})
				if !assert.Equal(t, http.StatusOK, res.Status, "%s: every request acknowledged during the outage: %v", id, res.Body) {
					return
				}
				switch res.Body["durable"] {
				case "spool":
					spooled.Add(1)
				case "kafka":
					kafkaAcks.Add(1)
				}
			}
		})
	}
	phase.Wait()
	fd.set(true)
	close(cut)
	// Stay down until the senders have pushed a good part of the outage batch.
	require.Eventually(t, func() bool { return spooled.Load() >= int64(len(keys)*perKey/4) }, 60*time.Second, 20*time.Millisecond)
	readyz := getJSON(t, gw.ops+"/readyz")
	detail := readyz["checks"].(map[string]any)["spool"].(map[string]any)["detail"].(map[string]any)
	assert.Greater(t, detail["records"].(float64), 0.0, "readyz shows spool depth during the outage")
	assert.Equal(t, true, detail["spooling"])
	fd.set(false)
	close(restore)
	wg.Wait()
	assert.Positive(t, kafkaAcks.Load())
	t.Logf("acks: kafka=%d spool=%d", kafkaAcks.Load(), spooled.Load())

	msgs := k.ReadAll(t, topic, len(keys)*perKey, 90*time.Second)
	checkOrder(t, msgs, keys, perKey)
	var marked int
	for _, m := range msgs {
		if v, ok := header(m, "spooled"); ok && v == "true" {
			marked++
		}
	}
	assert.GreaterOrEqual(t, marked, int(spooled.Load()), "spooled records carry spooled=true")
	// Back to normal: the spool drains and new requests go straight to Kafka.
	require.Eventually(t, func() bool {
		d := getJSON(t, gw.ops+"/readyz")["checks"].(map[string]any)["spool"].(map[string]any)["detail"].(map[string]any)
		return d["records"].(float64) == 0 && d["spooling"] == false
	}, 30*time.Second, 50*time.Millisecond)
	// A loaded machine may still push one of these past the ack deadline (and
	// back to spooling for a moment); what matters is that direct acks return.
	require.Eventually(t, func() bool {
		res := post(t, http.MethodPost, gw.url+"/webhooks/komerce/"+komerceToken, komerceBody("after", 0), nil)
		return res.Status == http.StatusOK && res.Body["durable"] == "kafka"
	}, 30*time.Second, 50*time.Millisecond, "direct kafka acks after the outage")
}

func getJSON(t *testing.T, url string) map[string]any {
	t.Helper()
	res, err := http.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	return out
}
