package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"text/template"
	"text/template/parse"

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
//
// Everything a template action prints ({{.Data.Reason}}, {{printf ...}}) is
// escaped for Slack mrkdwn: &, < and > become &amp;, &lt; and &gt;. Event
// fields carry provider-supplied text, and unescaped it could mention
// everyone (<!channel>) or show a link under a fake label (<https://x|track>).
// The template's own text is not escaped, so an operator may still write
// <!here> or <{{.Data.TrackingURL}}|track> in it.
func NewChat(cfg ChatConfig) (*Chat, error) {
	t, err := template.New("chat").Option("missingkey=error").Funcs(template.FuncMap{escapeFunc: chatEscape}).Parse(cfg.Template)
	if err != nil {
		return nil, fmt.Errorf("chat sink: parsing template: %w", err)
	}
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			escapeActions(tt.Root)
		}
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

// escapeFunc is the function escapeActions appends to every printing action.
const escapeFunc = "_chatEscape"

// escapeActions appends `| _chatEscape` to every action under n that prints
// (not to {{$x := ...}} declarations), through if/range/with branches, the
// way html/template adds its escapers.
func escapeActions(n parse.Node) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			escapeActions(c)
		}
	case *parse.ActionNode:
		if len(n.Pipe.Decl) == 0 {
			n.Pipe.Cmds = append(n.Pipe.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: n.Pos,
				Args: []parse.Node{parse.NewIdentifier(escapeFunc).SetPos(n.Pos)}})
		}
	case *parse.IfNode:
		escapeActions(n.List)
		escapeActions(n.ElseList)
	case *parse.RangeNode:
		escapeActions(n.List)
		escapeActions(n.ElseList)
	case *parse.WithNode:
		escapeActions(n.List)
		escapeActions(n.ElseList)
	}
}

// mrkdwn escapes the three characters Slack's mrkdwn gives meaning to.
var mrkdwn = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// chatEscape prints v as text/template would (pointers followed, nil as
// "<nil>") and escapes it for mrkdwn.
func chatEscape(v any) string {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		if _, ok := rv.Interface().(fmt.Stringer); ok {
			break
		}
		if _, ok := rv.Interface().(error); ok {
			break
		}
		rv = rv.Elem()
	}
	if rv.IsValid() {
		v = rv.Interface()
	}
	return mrkdwn.Replace(fmt.Sprint(v))
}
