package route_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/dispatcher/internal/route"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// MatchEvent (typed event + lazily decoded raw JSON) routes exactly as Match
// (generic JSON) does, for every kind of rule.
func TestTable_MatchEventSameAsMatch(t *testing.T) {
	rules := []string{
		`{status: in_transit}`, `{status: [delivered, in_transit]}`, `{sub_status: {prefix: in_transit.}}`,
		`{sub_status: {exists: false}}`, `{provider: dash}`, `{service_type: instant}`,
		`{field: data.courier.company, equals: JNE Express}`, `{field: data.reason, exists: false}`,
		`{not: {provider: dash}}`, `{all: [{status: delivered}, {field: data.advances, equals: true}]}`,
		`{any: [{service_type: express}, {field: subject, prefix: "dash:"}]}`,
	}
	mods := map[string]func(*shipment.Event){
		"base":      nil,
		"delivered": func(e *shipment.Event) { e.Data.Status, e.Data.SubStatus = shipment.StatusDelivered, "" },
		"express sicepat": func(e *shipment.Event) {
			e.Data.ServiceType, e.Data.Courier.Company = shipment.ServiceExpress, "SiCepat"
		},
		"other provider": func(e *shipment.Event) { e.Data.Provider, e.Subject = "komerce", "komerce:S1" },
	}
	for _, rule := range rules {
		f, err := route.Parse([]byte(sinksYAML+"routes:\n  - match: "+rule+"\n    to: [t]\n"), nil)
		require.NoError(t, err, rule)
		table := route.NewTable(f)
		for name, mod := range mods {
			ev, raw := typedEvent(t, mod)
			assert.Equal(t, table.Match(event(t, mod)), table.MatchEvent(route.NewEvent(ev, raw)), "%s / %s", rule, name)
		}
	}
}

// Shorthand rules read the typed event: the raw JSON is not decoded again.
func TestTable_MatchEventShorthandsSkipRawDecode(t *testing.T) {
	f, err := route.Parse([]byte(sinksYAML+`routes:
  - match: {all: [{status: in_transit}, {provider: dash}, {service_type: instant}, {sub_status: {prefix: in_transit}}]}
    to: [t]
  - match: {field: subject, prefix: "dash:"}
    to: [h]
`), nil)
	require.NoError(t, err)
	ev, _ := typedEvent(t, nil)
	// Raw that cannot be decoded: only a rule that really decodes it would miss.
	assert.Equal(t, []string{"t"}, route.NewTable(f).MatchEvent(route.NewEvent(ev, []byte("not json"))))
}

func typedEvent(t *testing.T, mod func(*shipment.Event)) (*shipment.Event, []byte) {
	t.Helper()
	ev := shipment.Event{ID: "e1", Subject: "dash:S1", Data: shipment.Data{
		Provider: "dash", ShipmentID: "S1", ServiceType: shipment.ServiceInstant,
		Status: shipment.StatusInTransit, SubStatus: "in_transit.on_the_way", Advances: true,
		Courier: &shipment.Courier{Company: "JNE Express", Name: "Budi"},
	}}
	if mod != nil {
		mod(&ev)
	}
	b, err := json.Marshal(ev)
	require.NoError(t, err)
	var back shipment.Event
	require.NoError(t, json.Unmarshal(b, &back))
	return &back, b
}
