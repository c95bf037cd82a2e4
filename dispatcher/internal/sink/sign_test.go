package sink

import (
	"encoding/base64"
	"math/rand/v2"
	"net/http"
	"strconv"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"
)

// TestSigner_sameAsLibrary: for random keys (with and without the whsec_
// prefix), ids, times and bodies, the signer writes the reference library's
// signature byte for byte, and the library verifies it; concurrent signing with
// the pooled HMACs gives each call its own signature.
func TestSigner_sameAsLibrary(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	for i := range 500 {
		key := make([]byte, 1+r.IntN(64))
		for j := range key {
			key[j] = byte(r.UintN(256))
		}
		secret := base64.StdEncoding.EncodeToString(key)
		if i%2 == 0 {
			secret = "whsec_" + secret
		}
		ref, err := standardwebhooks.NewWebhook(secret)
		require.NoError(t, err)
		sg, err := newSigner(secret)
		require.NoError(t, err)
		body := make([]byte, r.IntN(4096))
		for j := range body {
			body[j] = byte(r.UintN(256))
		}
		id := "evt_" + strconv.Itoa(r.Int())
		at := time.Unix(r.Int64N(1<<40)-1<<39, 0)
		want, err := ref.Sign(id, at, body)
		require.NoError(t, err)
		for range 2 { // the second call reuses the pooled HMAC
			require.Equal(t, want, string(sg.appendSignature(nil, id, at.Unix(), body)))
		}
		h := http.Header{}
		h.Set(standardwebhooks.HeaderWebhookID, id)
		h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10))
		h.Set(standardwebhooks.HeaderWebhookSignature, want)
		require.NoError(t, ref.VerifyIgnoringTimestamp(body, h))
	}

	sg, err := newSigner("whsec_" + base64.StdEncoding.EncodeToString([]byte("concurrent")))
	require.NoError(t, err)
	ref, err := standardwebhooks.NewWebhook("whsec_" + base64.StdEncoding.EncodeToString([]byte("concurrent")))
	require.NoError(t, err)
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			for k := range 200 {
				id, body := strconv.Itoa(g*1000+k), []byte(strconv.Itoa(k*g))
				want, _ := ref.Sign(id, time.Unix(int64(k), 0), body)
				if got := string(sg.appendSignature(nil, id, int64(k), body)); got != want {
					errs <- &mismatch{got, want}
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		require.NoError(t, <-errs)
	}
}

type mismatch struct{ got, want string }

func (m *mismatch) Error() string { return "signature " + m.got + ", library " + m.want }

// TestSigner_badSecret: a secret that is not base64 is refused, as the library refuses it.
func TestSigner_badSecret(t *testing.T) {
	for _, s := range []string{"whsec_!!!", "not base64", "whsec_abc"} {
		_, refErr := standardwebhooks.NewWebhook(s)
		_, err := newSigner(s)
		require.Equal(t, refErr != nil, err != nil, s)
		require.Error(t, err, s)
	}
}

// BenchmarkSign: the signer against the library's Sign on a 1 KiB event.
func BenchmarkSign(b *testing.B) {
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("bench-key-32-bytes-long-enough!!"))
	body := make([]byte, 1024)
	at := time.Unix(1764000000, 0)
	sg, _ := newSigner(secret)
	ref, _ := standardwebhooks.NewWebhook(secret)
	b.Run("signer", func(b *testing.B) {
		b.ReportAllocs()
		var dst []byte
		for b.Loop() {
			dst = sg.appendSignature(dst[:0], "evt_1", at.Unix(), body)
		}
	})
	b.Run("library", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = ref.Sign("evt_1", at, body)
		}
	})
}
