package adapter

import (
	"fmt"
	"strings"

	"github.com/courierhook/pipeline/schemas/shipment"
)

// Mapping is one row of a provider's status table: which canonical status,
// sub-status and terminality a provider status (or KiriminAja method, Sendstack
// eventType) maps to. The rows are the single source of the mapping table in
// schemas/README.md (TestMappingTable_README keeps the two equal).
type Mapping struct {
	// Provider is the registry name ("kiriminaja", "dash", ...).
	Provider string
	// Family is the payload family or service category the row applies to
	// ("express", "instant", "package status", "EXPRESS", "LOGISTIC", ...).
	Family string
	// ProviderStatus is the provider's status, method or event type as documented.
	ProviderStatus string
	// When narrows the row to a condition on the payload ("returned_at null"); empty when always.
	When      string
	Status    shipment.Status
	SubStatus string
	Terminal  bool
	// Note says where the row comes from when that is not the seed docs.
	Note string
}

// MappingTable returns every mapping row of every registered adapter, in
// registry-table order then row order. It is what the docs and the
// coverage tests are built from.
func MappingTable() []Mapping {
	var out []Mapping
	for _, rows := range [][]Mapping{kiriminajaExpressRows, kiriminajaInstantRows, kiriminajaCodeRows, dashRows, komerceRows, sendstackRows, sendstackDropRows} {
		out = append(out, rows...)
	}
	return out
}

// unmapped is the result for a provider status no row names.
var unmapped = Mapping{Status: shipment.StatusUnknown, SubStatus: shipment.SubUnknownUnmapped}

// index builds a lookup from folded key (see normKey) to row; rows with a When
// condition are indexed under key+"|"+When.
func index(rows []Mapping) map[string]Mapping {
	m := make(map[string]Mapping, len(rows))
	for _, r := range rows {
		k := normKey(r.ProviderStatus)
		if r.When != "" {
			k += "|" + r.When
		}
		m[k] = r
	}
	return m
}

// event is what an adapter extracts from a payload before the envelope is built.
type event struct {
	// DedupKey is the provider event identity (see Output.DedupKey).
	DedupKey string
	// Repeatable: DedupKey holds no provider time, sequence or event id.
	Repeatable bool
	// Dropped lists the fields left out for an unexpected JSON type.
	Dropped []string
	Data    shipment.Data
}

// envelope wraps d in the CloudEvents envelope and fills the fields every
// adapter fills the same way: schema version, provider, receive time, raw
// reference, advances (the consumer may clear it), event id and key.
func envelope(rec RawRecord, provider string, ev event) Output {
	d := ev.Data
	d.SchemaVersion = shipment.DataVersion
	d.Provider = provider
	d.ReceivedAt = rec.ReceivedAt.UTC()
	d.Advances = true
	d.Raw = shipment.RawRef{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, RequestID: rec.RequestID}
	if d.ServiceType == "" {
		d.ServiceType = shipment.ServiceUnknown
	}
	if d.SubStatus == "" {
		d.SubStatus = shipment.OtherSubStatus(d.Status)
	}
	t := d.ReceivedAt
	if d.OccurredAt != nil {
		t = *d.OccurredAt
	}
	key := shipment.Key(provider, d.ShipmentID)
	return Output{
		DedupKey:   ev.DedupKey,
		Repeatable: ev.Repeatable,
		Dropped:    ev.Dropped,
		Event: shipment.Event{
			SpecVersion:     shipment.SpecVersion,
			ID:              shipment.EventID(ev.DedupKey),
			Source:          shipment.Source(provider),
			Type:            shipment.EventType,
			Subject:         key,
			Time:            t,
			DataContentType: shipment.DataContentType,
			DataSchema:      shipment.DataSchemaURI,
			PartitionKey:    key,
			Data:            d,
		},
	}
}

// apply copies a mapping row's verdict into d.
func (m Mapping) apply(d *shipment.Data) {
	d.Status, d.SubStatus, d.Terminal = m.Status, m.SubStatus, m.Terminal
}

// dedupKey joins the parts of a provider event's identity with "|".
func dedupKey(parts ...string) string {
	n := 0
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			b = append(b, '|')
		}
		b = append(b, p...)
	}
	return string(b)
}

// shipmentID turns a provider id into the shipment id: invalid UTF-8 becomes
// U+FFFD (so the Kafka key, built from the id, equals the event subject, which
// JSON encoding would otherwise rewrite), and an id longer than
// MaxShipmentIDBytes is an error. what names the part of the body ("order[2]").
func shipmentID(provider, what, raw string) (string, *Error) {
	id := strings.ToValidUTF8(raw, "\uFFFD")
	if len(id) > MaxShipmentIDBytes {
		return "", Permanent(ReasonShipmentIDTooLong, "%s %s: shipment id is %d bytes, limit %d", provider, what, len(id), MaxShipmentIDBytes)
	}
	return id, nil
}

// collect returns a multi-part body's result: the good outputs plus one Dead
// output per bad part, or, when no part is good, the first part's error (the
// whole record dead-letters with that reason).
func collect(good []Output, bad []*Error) ([]Output, error) {
	if len(good) == 0 {
		if len(bad) == 0 {
			return nil, Permanent(ReasonNoShipment, "payload holds no shipment")
		}
		return nil, bad[0]
	}
	for _, e := range bad {
		good = append(good, Output{Dead: e})
	}
	return good, nil
}

// prefixed returns paths with prefix joined in front ("data[]" + "driver").
func prefixed(prefix string, paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = joinPath(prefix, p)
	}
	return out
}

// orderLabel names part i of a multi-part body in dead-letter reasons.
func orderLabel(kind string, i int) string { return fmt.Sprintf("%s[%d]", kind, i) }
