package sink_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/dispatcher/internal/sink"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// render delivers ev through a chat sink with tmpl and returns the posted text.
func render(t *testing.T, tmpl string, ev *shipment.Event) string {
	t.Helper()
	var text string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var p struct{ Text string }
		assert.NoError(t, json.Unmarshal(b, &p))
		text = p.Text
	}))
	t.Cleanup(srv.Close)
	s, err := sink.NewChat(sink.ChatConfig{URL: srv.URL, Template: tmpl})
	require.NoError(t, err)
	require.NoError(t, s.Deliver(t.Context(), sink.Delivery{ID: "id-1", Event: ev}))
	return text
}

// Finding (issue 13, low): chat templates inserted provider text unescaped,
// so a provider's reason could ping the channel or show a fake link.
func TestChat_EscapesProviderText(t *testing.T) {
	t.Parallel()
	ev := &shipment.Event{Data: shipment.Data{Provider: "dash", ShipmentID: "D<1>",
		Reason:  "<!channel> pay at <https://evil.example|your courier> & win",
		Courier: &shipment.Courier{Name: "<@U123>"}}}
	cases := map[string]struct{ tmpl, want string }{
		"field": {"{{.Data.Reason}}", "&lt;!channel&gt; pay at &lt;https://evil.example|your courier&gt; &amp; win"},
		"template text kept, fields escaped": {"<!here> {{.Data.ShipmentID}}: {{.Data.Reason}}",
			"<!here> D&lt;1&gt;: &lt;!channel&gt; pay at &lt;https://evil.example|your courier&gt; &amp; win"},
		"inside with":      {"{{with .Data.Courier}}by {{.Name}}{{end}}", "by &lt;@U123&gt;"},
		"inside if/else":   {"{{if .Data.Courier}}{{.Data.ShipmentID}}{{else}}x{{end}}", "D&lt;1&gt;"},
		"pipeline":         {`{{printf "%s!" .Data.ShipmentID}}`, "D&lt;1&gt;!"},
		"variables":        {"{{$id := .Data.ShipmentID}}[{{$id}}]", "[D&lt;1&gt;]"},
		"nested template":  {`{{define "c"}}{{.Name}}{{end}}{{template "c" .Data.Courier}}`, "&lt;@U123&gt;"},
		"pointer followed": {"{{.Data.Courier}}", "{ &lt;@U123&gt;   }"}, // as text/template prints it: fields in order, Company empty
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, c.want, render(t, c.tmpl, ev))
		})
	}
}
