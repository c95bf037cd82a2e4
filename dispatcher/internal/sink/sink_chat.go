package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"text/template"

	"github.com/courierhook/pipeline/schemas/shipment"
)

// ChatConfig configures a chat notification sink.
type ChatConfig struct {
	// URL is a Slack-compatible incoming-webhook URL (Slack, Mattermost, Rocket.Chat).
	URL string
	// Template is a Go text/template over shipment.Event, e.g.
	// "{{.Data.Provider}} {{.Data.ShipmentID}} is {{.Data.Status}}: {{.Data.Reason}}".
	Template string
	// Headers are extra request headers.
	Headers map[string]string
	// Redact lists field paths removed before the template sees the event.
	Redact []string
	// Client sends the requests; nil means a client that never follows redirects.
	Client *http.Client
}

// Chat posts {"text": <rendered template>} to an incoming webhook. Incoming
// webhooks do not dedup, so a retried notification can show twice; the
// Idempotency-Key header is sent for receivers that honour it.
type Chat struct {
	cfg    ChatConfig
	tmpl   *template.Template
	redact *Redactor
}

// NewChat returns a chat sink, failing on an unparsable template.
func NewChat(cfg ChatConfig) (*Chat, error) {
	t, err := template.New("chat").Option("missingkey=error").Parse(cfg.Template)
	if err != nil {
		return nil, fmt.Errorf("chat sink: parsing template: %w", err)
	}
	if cfg.Client == nil {
		cfg.Client = noRedirectClient()
	}
	return &Chat{cfg: cfg, tmpl: t, redact: NewRedactor(cfg.Redact)}, nil
}

// Deliver renders the text and makes one POST.
func (c *Chat) Deliver(ctx context.Context, d Delivery) error {
	ev := d.Event
	if len(c.redact.paths) > 0 || ev == nil {
		body, err := c.redact.Apply(d.Body)
		if err != nil {
			return err
		}
		ev = new(shipment.Event)
		if err := json.Unmarshal(body, ev); err != nil {
			return Permanent(fmt.Errorf("decoding event: %w", err))
		}
	}
	var text bytes.Buffer
	if err := c.tmpl.Execute(&text, ev); err != nil {
		return Permanent(fmt.Errorf("rendering template: %w", err))
	}
	payload, err := json.Marshal(map[string]string{"text": text.String()})
	if err != nil {
		return Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, bytes.NewReader(payload))
	if err != nil {
		return Permanent(fmt.Errorf("building request: %w", err))
	}
	for k, v := range c.cfg.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderIdempotencyKey, d.ID)
	return post(c.cfg.Client, req)
}
