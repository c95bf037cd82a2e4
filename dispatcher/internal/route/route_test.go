package route_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/courierhook/pipeline/dispatcher/internal/route"
	"github.com/courierhook/pipeline/schemas/shipment"
)

func env(m map[string]string) route.Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

var exampleEnv = env(map[string]string{"MERCHANT_WEBHOOK_SECRET_NEXT": "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24="})

func TestLoad_ExampleFile(t *testing.T) {
	f, err := route.Load("../../routes.example.yaml", exampleEnv)
	require.NoError(t, err)
	assert.Len(t, f.Sinks, 4)
	assert.Len(t, f.Routes, 3)
	wh := f.Sinks["merchant-webhook"]
	assert.Equal(t, "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24=", wh.Secrets[1])
	assert.Contains(t, wh.RedactPaths(), "data.destination.phone")
	assert.Contains(t, wh.RedactPaths(), "data.amounts.cod")
	assert.Equal(t, route.DefaultConcurrency, f.Sinks["delivered-topic"].Concurrency)
}

func TestLoad_ExampleFileNeedsItsEnv(t *testing.T) {
	_, err := route.Load("../../routes.example.yaml", env(nil))
	require.ErrorIs(t, err, route.ErrInvalid)
	assert.ErrorContains(t, err, "MERCHANT_WEBHOOK_SECRET_NEXT")
}

// event builds a canonical event as generic JSON, the form Table.Match takes.
func event(t *testing.T, mod func(*shipment.Event)) map[string]any {
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
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b, &doc))
	return doc
}

func TestTable_Match(t *testing.T) {
	f, err := route.Load("../../routes.example.yaml", exampleEnv)
	require.NoError(t, err)
	table := route.NewTable(f)
	cases := map[string]struct {
		mod  func(*shipment.Event)
		want []string
	}{
		"instant in transit goes to the merchant": {nil, []string{"merchant-webhook"}},
		"delivered goes to the topic and, terminal, to the merchant": {func(e *shipment.Event) {
			e.Data.Status, e.Data.Terminal, e.Data.ServiceType = shipment.StatusDelivered, true, shipment.ServiceExpress
		}, []string{"delivered-topic", "merchant-webhook"}},
		"exception goes to ops and merchant": {func(e *shipment.Event) { e.Data.Status = shipment.StatusException },
			[]string{"exceptions-topic", "ops-chat", "merchant-webhook"}},
		"cancelled with a reason goes to ops": {func(e *shipment.Event) {
			e.Data.Status, e.Data.Reason, e.Data.ServiceType, e.Data.Courier = shipment.StatusCancelled, "customer asked", shipment.ServiceExpress, nil
		}, []string{"exceptions-topic", "ops-chat"}},
		"cancelled without a reason goes nowhere": {func(e *shipment.Event) {
			e.Data.Status, e.Data.ServiceType, e.Data.Courier = shipment.StatusCancelled, shipment.ServiceExpress, nil
		}, nil},
		"express via JNE by courier prefix": {func(e *shipment.Event) { e.Data.ServiceType = shipment.ServiceExpress },
			[]string{"merchant-webhook"}},
		"express via another courier goes nowhere": {func(e *shipment.Event) {
			e.Data.ServiceType, e.Data.Courier.Company = shipment.ServiceExpress, "SiCepat"
		}, nil},
		"out of order event skips the merchant": {func(e *shipment.Event) { e.Data.Advances = false }, nil},
		"unknown status skips the merchant":     {func(e *shipment.Event) { e.Data.Status = shipment.StatusUnknown }, nil},
		"unknown provider skips the merchant":   {func(e *shipment.Event) { e.Data.Provider = "other" }, nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, table.Match(event(t, tc.mod)))
		})
	}
}

const sinksYAML = `
sinks:
  t: {kind: kafka, topic: x}
  h: {kind: http, url: "http://127.0.0.1:1/x", secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]}
`

func TestParse_Leaves(t *testing.T) {
	cases := map[string]struct {
		match string
		mod   func(*shipment.Event)
		want  bool
	}{
		"status scalar":            {`{status: in_transit}`, nil, true},
		"status list":              {`{status: [delivered, in_transit]}`, nil, true},
		"status in mapping":        {`{status: {in: [delivered]}}`, nil, false},
		"sub_status equals":        {`{sub_status: in_transit.on_the_way}`, nil, true},
		"sub_status prefix":        {`{sub_status: {prefix: in_transit.}}`, nil, true},
		"provider":                 {`{provider: dash}`, nil, true},
		"service_type":             {`{service_type: instant}`, nil, true},
		"field equals string":      {`{field: data.courier.company, equals: JNE Express}`, nil, true},
		"field equals bool":        {`{field: data.advances, equals: true}`, nil, true},
		"bool is not string":       {`{field: data.advances, equals: "true"}`, nil, false},
		"field exists":             {`{field: data.courier.name, exists: true}`, nil, true},
		"field absent":             {`{field: data.reason, exists: false}`, nil, true},
		"number equals":            {`{field: data.raw.offset, equals: 42}`, func(e *shipment.Event) { e.Data.Raw.Offset = 42 }, true},
		"missing path is no match": {`{field: data.origin.city, equals: Jakarta}`, nil, false},
		"not":                      {`{not: {provider: dash}}`, nil, false},
		"always":                   {`{always: true}`, nil, true},
		"envelope field":           {`{field: subject, prefix: "dash:"}`, nil, true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f, err := route.Parse([]byte(sinksYAML+"routes:\n  - match: "+tc.match+"\n    to: [t]\n"), nil)
			require.NoError(t, err)
			got := route.NewTable(f).Match(event(t, tc.mod))
			assert.Equal(t, tc.want, len(got) == 1)
		})
	}
}

func TestParse_Errors(t *testing.T) {
	cases := map[string]struct {
		yaml, want string
	}{
		"unknown sink":        {sinksYAML + "routes:\n  - {name: r, match: {always: true}, to: [nope]}\n", `route "r": unknown sink "nope"`},
		"unknown route field": {sinksYAML + "routes:\n  - {match: {always: true}, to: [t], color: red}\n", "field color not found"},
		"unknown match key":   {sinksYAML + "routes:\n  - {match: {stauts: delivered}, to: [t]}\n", "field stauts not found"},
		"unknown cond key":    {sinksYAML + "routes:\n  - {match: {status: {eq: delivered}}, to: [t]}\n", "field eq not found"},
		"bad status":          {sinksYAML + "routes:\n  - {match: {status: lost}, to: [t]}\n", "status: bad value lost"},
		"bad service type":    {sinksYAML + "routes:\n  - {match: {service_type: [rocket]}, to: [t]}\n", "service_type: bad value rocket"},
		"empty route to":      {sinksYAML + "routes:\n  - {name: r, match: {always: true}}\n", `route "r": empty route: no destinations`},
		"route without match": {sinksYAML + "routes:\n  - {name: r, to: [t]}\n", `route "r": empty route: no match`},
		"empty any":           {sinksYAML + "routes:\n  - {match: {any: []}, to: [t]}\n", "any: needs at least one"},
		"two forms":           {sinksYAML + "routes:\n  - {match: {status: delivered, provider: dash}, to: [t]}\n", "one form per expression"},
		"field without op":    {sinksYAML + "routes:\n  - {match: {field: data.x}, to: [t]}\n", "needs one of equals"},
		"op without field":    {sinksYAML + "routes:\n  - {match: {equals: 1}, to: [t]}\n", "need a `field:`"},
		"no routes":           {sinksYAML, "no routes declared"},
		"unknown kind":        {"sinks:\n  s: {kind: smtp}\nroutes:\n  - {match: {always: true}, to: [s]}\n", `sink "s": unknown kind "smtp"`},
		"kafka without topic": {"sinks:\n  s: {kind: kafka}\nroutes:\n  - {match: {always: true}, to: [s]}\n", "kind kafka needs a topic"},
		"http without secret": {"sinks:\n  s: {kind: http, url: 'https://x.example'}\nroutes:\n  - {match: {always: true}, to: [s]}\n", "at least one signing secret"},
		"http bad secret":     {"sinks:\n  s: {kind: http, url: 'https://x.example', secrets: [hunter2]}\nroutes:\n  - {match: {always: true}, to: [s]}\n", `whsec_<base64>`},
		"bad url":             {"sinks:\n  s: {kind: chat, url: 'ftp://x', template: hi}\nroutes:\n  - {match: {always: true}, to: [s]}\n", "needs an http(s) url"},
		"bad template field":  {"sinks:\n  s: {kind: chat, url: 'https://x.example', template: '{{.Data.Nope}}'}\nroutes:\n  - {match: {always: true}, to: [s]}\n", "template"},
		"bad redact":          {"sinks:\n  s: {kind: kafka, topic: x, redact: [emails]}\nroutes:\n  - {match: {always: true}, to: [s]}\n", `redact "emails"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := route.Parse([]byte(tc.yaml), nil)
			require.Error(t, err)
			assert.True(t, errors.Is(err, route.ErrInvalid))
			assert.ErrorContains(t, err, tc.want)
		})
	}
}
