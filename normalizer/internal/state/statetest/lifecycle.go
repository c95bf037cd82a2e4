// Package statetest holds the provider lifecycles the state rule is proven on:
// webhook bodies built from the adapter fixtures' shapes (seed payloads with
// adjusted ids, statuses and times), each with the canonical status its adapter
// must map it to, so a mapping change fails loudly instead of silently changing
// what the tests prove. Used by the state property tests and the consumer's
// shuffled-lifecycle integration test.
package statetest

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/courierhook/pipeline/normalizer/internal/adapter"
	"github.com/courierhook/pipeline/normalizer/internal/state"
	"github.com/courierhook/pipeline/schemas/providers/seed"
	"github.com/courierhook/pipeline/schemas/shipment"
)

// Step is one webhook of a lifecycle.
type Step struct {
	Provider string
	// Body may name other shipments too (a Sendstack batch of several drops);
	// only this shipment's event is part of the lifecycle.
	Body []byte
	// Want and WantTerminal are what the adapter must map Body to.
	Want         shipment.Status
	WantTerminal bool
}

// Lifecycle is the webhooks one shipment gets, in the order they happened.
type Lifecycle struct {
	Name     string
	Provider string
	// Subject is the shipment's event key.
	Subject string
	Steps   []Step
	// Final is the shipment's status once every step was applied.
	Final shipment.Status
}

// Lifecycles returns every lifecycle; suffix is appended to each shipment id so
// callers can keep shipments of different runs apart.
func Lifecycles(t testing.TB, suffix string) []Lifecycle {
	t.Helper()
	b := builder{t: t, suffix: suffix}
	return []Lifecycle{
		b.kiriminaja("kiriminaja express: happy path", "KA-HAPPY", shipment.StatusDelivered,
			b.kaExpress("processed_packages", 105, kaTimes{date: "2025-08-05T06:59:31.000000Z"}, shipment.StatusAwaitingPickup),
			b.kaExpress("shipped_packages", 106, kaTimes{date: "2025-08-05T06:59:31.000000Z", shipped: "2025-08-05T09:00:00.000000Z"}, shipment.StatusPickedUp),
			b.kaExpress("finished_packages", 200, kaTimes{date: "2025-08-05T06:59:31.000000Z", shipped: "2025-08-05T09:00:00.000000Z", finished: "2025-08-06T09:58:00.000000Z"}, shipment.StatusDelivered),
		),
		// Issue 11: the problem is stamped after the delivery.
		b.kiriminaja("kiriminaja express: exception then delivered", "KA-PROBLEM", shipment.StatusDelivered,
			b.kaExpress("shipped_packages", 106, kaTimes{date: "2025-08-05T06:59:31.000000Z", shipped: "2025-08-05T09:00:00.000000Z"}, shipment.StatusPickedUp),
			b.kaExpress("problem_packages", 500, kaTimes{date: "2025-08-06T10:00:00Z", reason: "Paket tertahan di gudang"}, shipment.StatusException),
			b.kaExpress("finished_packages", 200, kaTimes{date: "2025-08-05T06:59:31.000000Z", shipped: "2025-08-05T09:00:00.000000Z", finished: "2025-08-06T09:58:00.000000Z"}, shipment.StatusDelivered),
		),
		b.kiriminaja("kiriminaja express: failed attempt, new attempt, delivered", "KA-RETRY", shipment.StatusDelivered,
			b.kaExpress("shipped_packages", 106, kaTimes{date: "2025-08-05T06:59:31.000000Z", shipped: "2025-08-05T09:00:00.000000Z"}, shipment.StatusPickedUp),
			b.kaExpress("problem_packages", 500, kaTimes{date: "2025-08-06T10:00:00Z", reason: "Penerima tidak di tempat"}, shipment.StatusDeliveryFailed),
			b.kaExpress("finished_packages", 200, kaTimes{date: "2025-08-05T06:59:31.000000Z", shipped: "2025-08-05T09:00:00.000000Z", finished: "2025-08-07T11:00:00.000000Z"}, shipment.StatusDelivered),
		),
		// Issue 11: an untimed short processed_packages, then stamped events.
		b.kiriminaja("kiriminaja express: untimed processed then stamped", "KA-SHORT", shipment.StatusDelivered,
			b.kaShort("processed_packages", shipment.StatusAwaitingPickup),
			b.kaExpress("shipped_packages", 106, kaTimes{date: "2025-08-05T06:59:31.000000Z", shipped: "2025-08-05T09:00:00.000000Z"}, shipment.StatusPickedUp),
			b.kaExpress("finished_packages", 200, kaTimes{date: "2025-08-05T06:59:31.000000Z", shipped: "2025-08-05T09:00:00.000000Z", finished: "2025-08-05T15:00:00.000000Z"}, shipment.StatusDelivered),
		),
		b.kiriminaja("kiriminaja express: return (returning then returned)", "KA-RETURN", shipment.StatusReturned,
			b.kaExpress("processed_packages", 105, kaTimes{date: "2025-08-05T06:59:31.000000Z"}, shipment.StatusAwaitingPickup),
			b.kaExpress("shipped_packages", 106, kaTimes{date: "2025-08-05T06:59:31.000000Z", shipped: "2025-08-06T02:00:00.000000Z"}, shipment.StatusPickedUp),
			b.kaExpress("returned_packages", 403, kaTimes{date: "2025-08-05T06:59:31.000000Z", shipped: "2025-08-06T02:00:00.000000Z", reason: "Penerima menolak"}, shipment.StatusReturning),
			b.kaExpress("returned_packages", 400, kaTimes{date: "2025-08-05T06:59:31.000000Z", shipped: "2025-08-06T02:00:00.000000Z", returned: "2025-08-10T04:00:00.000000Z", reason: "Penerima menolak"}, shipment.StatusReturned),
		),
		b.kiriminaja("kiriminaja express: cancellation", "KA-CANCEL", shipment.StatusCancelled,
			b.kaExpress("processed_packages", 105, kaTimes{date: "2025-08-05T06:59:31.000000Z"}, shipment.StatusAwaitingPickup),
			b.kaExpress("canceled_packages", 105, kaTimes{}, shipment.StatusCancelled),
		),
		b.kiriminaja("kiriminaja instant: happy path", "BDI-HAPPY", shipment.StatusDelivered,
			b.kaInstant("seed_instant_shipped.json", shipment.StatusPickedUp),
			b.kaInstant("seed_instant_finished.json", shipment.StatusDelivered),
		),
		b.kiriminaja("kiriminaja instant: cancellation", "BDI-CANCEL", shipment.StatusCancelled,
			b.kaInstant("seed_instant_shipped.json", shipment.StatusPickedUp),
			b.kaInstant("seed_instant_canceled.json", shipment.StatusCancelled),
		),
		// The legacy Instant update (seed 002), cancelled after pickup.
		b.kiriminaja("kiriminaja instant: legacy update_instant_packages cancel", "BDI-LEGACY", shipment.StatusCancelled,
			b.kaInstant("seed_instant_shipped.json", shipment.StatusPickedUp),
			b.kaUpdateInstant("2025-08-05T07:30:00.000000Z", shipment.StatusCancelled),
		),
		// validated_packages (official plugin only) updates the shipping cost.
		b.kiriminaja("kiriminaja express: validated, then delivered", "KA-VALID", shipment.StatusDelivered,
			b.kaExpress("processed_packages", 105, kaTimes{date: "2025-08-05T06:59:31.000000Z"}, shipment.StatusAwaitingPickup),
			b.kaLegacy("express_validated.json", "date", "2025-08-05 14:00:00", shipment.StatusAwaitingPickup),
			b.kaExpress("shipped_packages", 106, kaTimes{date: "2025-08-05T06:59:31.000000Z", shipped: "2025-08-05T09:00:00.000000Z"}, shipment.StatusPickedUp),
			b.kaExpress("finished_packages", 200, kaTimes{date: "2025-08-05T06:59:31.000000Z", shipped: "2025-08-05T09:00:00.000000Z", finished: "2025-08-06T09:58:00.000000Z"}, shipment.StatusDelivered),
		),
		// rejected_packages (official plugin only) is an exception; the older
		// docs' cancellation reason "3pl rejection" follows it.
		b.kiriminaja("kiriminaja express: rejected, then cancelled", "KA-REJECT", shipment.StatusCancelled,
			b.kaExpress("processed_packages", 105, kaTimes{date: "2025-08-05T06:59:31.000000Z"}, shipment.StatusAwaitingPickup),
			b.kaExpress("rejected_packages", 105, kaTimes{date: "2025-08-05T06:59:31.000000Z", rejected: "2025-08-06T05:00:00.000000Z", reason: "Berat tidak sesuai"}, shipment.StatusException),
			b.kaExpress("canceled_packages", 105, kaTimes{reason: "3pl rejection"}, shipment.StatusCancelled),
		),
		// The legacy format (seed 002): returned_packages with returned_at set is
		// the return completed, and the deprecated return_finished_packages says
		// it again: two terminal events of one status.
		b.kiriminaja("kiriminaja express: legacy return, then return_finished_packages", "KA-LEGRET", shipment.StatusReturned,
			b.kaLegacy("seed_express_shipped_legacy.json", "shipped_at", "2022-05-02 10:00:00", shipment.StatusPickedUp),
			b.kaLegacy("seed_express_returned_legacy.json", "returned_at", "2022-05-05 00:00:00", shipment.StatusReturned),
			b.kaLegacy("seed_express_return_finished.json", "date", "2022-05-06 00:00:00", shipment.StatusReturned),
		),
		// The final codes 333, 555, 703 and 704 are terminal exceptions. On a
		// problem_packages the method decides (not terminal) and no published
		// method carries them, so they come under an unknown method (the
		// invented moved_packages, as in the adapter's fixtures), where the
		// code decides (data.inferred).
		b.kiriminaja("kiriminaja express: lost, claim resolved (code 703)", "KA-LOST", shipment.StatusException,
			b.kaExpress("shipped_packages", 106, kaTimes{date: "2025-08-05T06:59:31.000000Z", shipped: "2025-08-05T09:00:00.000000Z"}, shipment.StatusPickedUp),
			b.kaExpress("problem_packages", 701, kaTimes{date: "2025-08-07T10:00:00Z", reason: "Paket hilang"}, shipment.StatusException),
			terminal(b.kaExpress("moved_packages", 703, kaTimes{date: "2025-08-05T06:59:31.000000Z"}, shipment.StatusException)),
		),
		b.kiriminaja("kiriminaja express: damaged, claim resolved (code 704)", "KA-DAMAGED", shipment.StatusException,
			b.kaExpress("shipped_packages", 106, kaTimes{date: "2025-08-05T06:59:31.000000Z", shipped: "2025-08-05T09:00:00.000000Z"}, shipment.StatusPickedUp),
			b.kaExpress("problem_packages", 702, kaTimes{date: "2025-08-07T10:00:00Z", reason: "Paket rusak"}, shipment.StatusException),
			terminal(b.kaExpress("moved_packages", 704, kaTimes{date: "2025-08-05T06:59:31.000000Z"}, shipment.StatusException)),
		),
		b.kiriminaja("kiriminaja express: problem, then destroyed (code 333)", "KA-DESTROY", shipment.StatusException,
			b.kaExpress("shipped_packages", 106, kaTimes{date: "2025-08-05T06:59:31.000000Z", shipped: "2025-08-05T09:00:00.000000Z"}, shipment.StatusPickedUp),
			b.kaExpress("problem_packages", 500, kaTimes{date: "2025-08-06T10:00:00Z", reason: "Paket tertahan di gudang"}, shipment.StatusException),
			terminal(b.kaExpress("moved_packages", 333, kaTimes{date: "2025-08-05T06:59:31.000000Z"}, shipment.StatusException)),
		),
		b.kiriminaja("kiriminaja express: confiscated by customs (code 555)", "KA-CUSTOMS", shipment.StatusException,
			b.kaExpress("shipped_packages", 106, kaTimes{date: "2025-08-05T06:59:31.000000Z", shipped: "2025-08-05T09:00:00.000000Z"}, shipment.StatusPickedUp),
			terminal(b.kaExpress("moved_packages", 555, kaTimes{date: "2025-08-05T06:59:31.000000Z"}, shipment.StatusException)),
		),
		// Two terminal statuses: the delivery outranks the cancellation.
		b.kiriminaja("kiriminaja express: cancelled, then delivered anyway", "KA-CANCDEL", shipment.StatusDelivered,
			b.kaExpress("processed_packages", 105, kaTimes{date: "2025-08-05T06:59:31.000000Z"}, shipment.StatusAwaitingPickup),
			b.kaExpress("canceled_packages", 105, kaTimes{}, shipment.StatusCancelled),
			b.kaExpress("shipped_packages", 106, kaTimes{date: "2025-08-05T06:59:31.000000Z", shipped: "2025-08-06T02:00:00.000000Z"}, shipment.StatusPickedUp),
			b.kaExpress("finished_packages", 200, kaTimes{date: "2025-08-05T06:59:31.000000Z", shipped: "2025-08-06T02:00:00.000000Z", finished: "2025-08-06T09:58:00.000000Z"}, shipment.StatusDelivered),
		),
		// Two terminal statuses: a cancellation stamped after the delivery
		// (the older page's canceled_packages form, with canceled_at) is
		// outranked by it all the same.
		b.kiriminaja("kiriminaja express: delivered, then a later-stamped cancellation", "KA-DELCANC", shipment.StatusDelivered,
			b.kaExpress("shipped_packages", 106, kaTimes{date: "2025-08-05T06:59:31.000000Z", shipped: "2025-08-05T09:00:00.000000Z"}, shipment.StatusPickedUp),
			b.kaExpress("finished_packages", 200, kaTimes{date: "2025-08-05T06:59:31.000000Z", shipped: "2025-08-05T09:00:00.000000Z", finished: "2025-08-06T09:58:00.000000Z"}, shipment.StatusDelivered),
			b.kaLegacy("express_canceled_overview_form.json", "canceled_at", "2025-08-07 10:00:00", shipment.StatusCancelled),
		),
		// Two terminal statuses: the return outranks the cancellation.
		b.kiriminaja("kiriminaja express: cancelled after pickup, then returned", "KA-CANCRET", shipment.StatusReturned,
			b.kaExpress("shipped_packages", 106, kaTimes{date: "2025-08-05T06:59:31.000000Z", shipped: "2025-08-06T02:00:00.000000Z"}, shipment.StatusPickedUp),
			b.kaExpress("canceled_packages", 105, kaTimes{}, shipment.StatusCancelled),
			b.kaExpress("returned_packages", 403, kaTimes{date: "2025-08-05T06:59:31.000000Z", shipped: "2025-08-06T02:00:00.000000Z", reason: "Dibatalkan"}, shipment.StatusReturning),
			b.kaExpress("returned_packages", 400, kaTimes{date: "2025-08-05T06:59:31.000000Z", shipped: "2025-08-06T02:00:00.000000Z", returned: "2025-08-09T04:00:00.000000Z", reason: "Dibatalkan"}, shipment.StatusReturned),
		),
		b.dash("dash express: happy path", "DE-HAPPY", "EXPRESS", shipment.StatusDelivered,
			b.dashStep("QUEUEING", "2024-12-27T14:18:17.128Z", shipment.StatusAwaitingPickup),
			b.dashStep("ALLOCATING", "2024-12-27T14:18:20.000Z", shipment.StatusAwaitingPickup),
			b.dashStep("PENDING_PICKUP", "2024-12-27T14:19:00.000Z", shipment.StatusCourierAssigned),
			b.dashStep("PICKING_UP", "2024-12-27T14:25:00.000Z", shipment.StatusCourierAssigned),
			b.dashStep("PENDING_DELIVERY", "2024-12-27T14:40:00.000Z", shipment.StatusPickedUp),
			b.dashStep("IN_DELIVERY", "2024-12-27T14:45:00.000Z", shipment.StatusOutForDelivery),
			b.dashStep("COMPLETED", "2024-12-27T15:10:00.000Z", shipment.StatusDelivered),
		),
		b.dash("dash express: cancellation", "DE-CANCEL", "EXPRESS", shipment.StatusCancelled,
			b.dashStep("ALLOCATING", "2024-12-27T14:18:20.000Z", shipment.StatusAwaitingPickup),
			b.dashStep("PENDING_PICKUP", "2024-12-27T14:19:00.000Z", shipment.StatusCourierAssigned),
			b.dashStep("CANCELLED", "2024-12-27T14:21:00.000Z", shipment.StatusCancelled),
		),
		b.dash("dash express: failed (terminal)", "DE-FAILED", "EXPRESS", shipment.StatusDeliveryFailed,
			b.dashStep("PICKING_UP", "2024-12-27T14:25:00.000Z", shipment.StatusCourierAssigned),
			b.dashStep("PENDING_DELIVERY", "2024-12-27T14:40:00.000Z", shipment.StatusPickedUp),
			b.dashStep("IN_DELIVERY", "2024-12-27T14:45:00.000Z", shipment.StatusOutForDelivery),
			b.dashStep("FAILED", "2024-12-27T15:30:00.000Z", shipment.StatusDeliveryFailed),
		),
		b.dash("dash logistic: exception, recoverable failure, new attempt, delivered", "DE-LOG", "LOGISTIC", shipment.StatusDelivered,
			b.dashStep("PREPARING", "2025-05-20T01:00:00.000Z", shipment.StatusCreated),
			b.dashStep("NOT_VERIFIED", "2025-05-20T02:00:00.000Z", shipment.StatusException),
			b.dashStep("VERIFIED", "2025-05-20T03:00:00.000Z", shipment.StatusPickedUp),
			b.dashStep("PENDING_DELIVERY", "2025-05-20T04:00:00.000Z", shipment.StatusOutForDelivery),
			b.dashStep("IN_DELIVERY", "2025-05-20T05:00:00.000Z", shipment.StatusOutForDelivery),
			b.dashStep("FAILED", "2025-05-20T06:00:00.000Z", shipment.StatusDeliveryFailed),
			b.dashStep("PENDING_DELIVERY", "2025-05-21T01:00:00.000Z", shipment.StatusOutForDelivery),
			b.dashStep("IN_DELIVERY", "2025-05-21T02:00:00.000Z", shipment.StatusOutForDelivery),
			b.dashStep("COMPLETED", "2025-05-21T03:00:00.000Z", shipment.StatusDelivered),
		),
		b.dash("dash logistic: recoverable failure then new attempt (not yet delivered)", "DE-RETRY", "LOGISTIC", shipment.StatusOutForDelivery,
			b.dashStep("IN_DELIVERY", "2025-05-20T05:00:00.000Z", shipment.StatusOutForDelivery),
			b.dashStep("FAILED", "2025-05-20T06:00:00.000Z", shipment.StatusDeliveryFailed),
			b.dashStep("PENDING_DELIVERY", "2025-05-21T01:00:00.000Z", shipment.StatusOutForDelivery),
		),
		b.dash("dash logistic: exception then recovery", "DE-NOTVER", "LOGISTIC", shipment.StatusPickedUp,
			b.dashStep("PREPARING", "2025-05-20T01:00:00.000Z", shipment.StatusCreated),
			b.dashStep("NOT_VERIFIED", "2025-05-20T02:00:00.000Z", shipment.StatusException),
			b.dashStep("VERIFIED", "2025-05-20T03:00:00.000Z", shipment.StatusPickedUp),
		),
		// LOGISTIC has "no provider-side cancel", but its diagram has a
		// Cancelled terminal (PROVIDERS.md §2.4): the adapter maps it.
		b.dash("dash logistic: cancellation", "DE-LOGCANCEL", "LOGISTIC", shipment.StatusCancelled,
			b.dashStep("PREPARING", "2025-05-20T01:00:00.000Z", shipment.StatusCreated),
			b.dashStep("VERIFIED", "2025-05-20T03:00:00.000Z", shipment.StatusPickedUp),
			b.dashStep("CANCELLED", "2025-05-20T03:30:00.000Z", shipment.StatusCancelled),
		),
		// Two terminal statuses: the cancellation raced the pickup, and the
		// delivery outranks it.
		b.dash("dash express: cancelled, then completed", "DE-CANCDEL", "EXPRESS", shipment.StatusDelivered,
			b.dashStep("ALLOCATING", "2024-12-27T14:18:20.000Z", shipment.StatusAwaitingPickup),
			b.dashStep("PENDING_PICKUP", "2024-12-27T14:19:00.000Z", shipment.StatusCourierAssigned),
			b.dashStep("CANCELLED", "2024-12-27T14:21:00.000Z", shipment.StatusCancelled),
			b.dashStep("PENDING_DELIVERY", "2024-12-27T14:40:00.000Z", shipment.StatusPickedUp),
			b.dashStep("IN_DELIVERY", "2024-12-27T14:45:00.000Z", shipment.StatusOutForDelivery),
			b.dashStep("COMPLETED", "2024-12-27T15:10:00.000Z", shipment.StatusDelivered),
		),
		// Two terminal statuses: an EXPRESS FAILED (terminal) outranked by a
		// later delivery.
		b.dash("dash express: failed, then completed", "DE-FAILDEL", "EXPRESS", shipment.StatusDelivered,
			b.dashStep("PENDING_DELIVERY", "2024-12-27T14:40:00.000Z", shipment.StatusPickedUp),
			b.dashStep("IN_DELIVERY", "2024-12-27T14:45:00.000Z", shipment.StatusOutForDelivery),
			b.dashStep("FAILED", "2024-12-27T15:30:00.000Z", shipment.StatusDeliveryFailed),
			b.dashStep("COMPLETED", "2024-12-27T16:05:00.000Z", shipment.StatusDelivered),
		),
		b.komerce("komerce: happy path", "KOM-HAPPY", shipment.StatusDelivered,
			b.komerceStep("Diajukan", shipment.StatusAwaitingPickup),
			b.komerceStep("Dijemput", shipment.StatusPickedUp),
			b.komerceStep("Dikirim", shipment.StatusInTransit),
			b.komerceStep("Selesai", shipment.StatusDelivered),
		),
		b.komerce("komerce: cancellation", "KOM-CANCEL", shipment.StatusCancelled,
			b.komerceStep("Diajukan", shipment.StatusAwaitingPickup),
			b.komerceStep("Dibatalkan", shipment.StatusCancelled),
		),
		// The second Dikirim has the same bytes as the first: a real repeat.
		b.komerce("komerce: failed attempt, new attempt, delivered", "KOM-RETRY", shipment.StatusDelivered,
			b.komerceStep("Dikirim", shipment.StatusInTransit),
			b.komerceStep("Gagal Kirim", shipment.StatusDeliveryFailed),
			b.komerceStep("Dikirim", shipment.StatusInTransit),
			b.komerceStep("Selesai", shipment.StatusDelivered),
		),
		b.komerce("komerce: return", "KOM-RETURN", shipment.StatusReturned,
			b.komerceStep("Dikirim", shipment.StatusInTransit),
			b.komerceStep("Retur", shipment.StatusReturning),
			b.komerceStep("Dikembalikan", shipment.StatusReturned),
		),
		b.komerce("komerce: exception then delivered", "KOM-LOST", shipment.StatusDelivered,
			b.komerceStep("Dikirim", shipment.StatusInTransit),
			b.komerceStep("Hilang", shipment.StatusException),
			b.komerceStep("Selesai", shipment.StatusDelivered),
		),
		// Two terminal statuses without provider times: the delivery outranks
		// the cancellation.
		b.komerce("komerce: cancelled, then delivered", "KOM-CANCDEL", shipment.StatusDelivered,
			b.komerceStep("Diajukan", shipment.StatusAwaitingPickup),
			b.komerceStep("Dibatalkan", shipment.StatusCancelled),
			b.komerceStep("Dikirim", shipment.StatusInTransit),
			b.komerceStep("Selesai", shipment.StatusDelivered),
		),
		b.sendstack("sendstack: happy path", "SS-HAPPY", shipment.StatusDelivered,
			b.sendstackStep("order.new", "2023-08-22T17:08:31.117Z", shipment.StatusCreated, "PENDING"),
			b.sendstackStep("order.statusUpdated", "2023-08-22T19:00:00.000Z", shipment.StatusDelivered, "DELIVERED"),
		),
		b.sendstack("sendstack: cancellation", "SS-CANCEL", shipment.StatusCancelled,
			b.sendstackStep("order.new", "2023-08-22T17:08:31.117Z", shipment.StatusCreated, "PENDING"),
			b.sendstackStep("order.statusUpdated", "2023-08-22T18:00:00.000Z", shipment.StatusCancelled, "CANCELLED"),
		),
		// One drop of a two-drop batch: each webhook carries both drops, so the
		// delivered drop is reported again when the other one is cancelled (a
		// second terminal event of one status).
		b.sendstack("sendstack: batch of two, this drop delivered, then re-reported", "SS-BATCH-D", shipment.StatusDelivered,
			b.sendstackStep("order.new", "2023-08-22T17:08:31.117Z", shipment.StatusCreated, "PENDING", "PENDING"),
			b.sendstackStep("order.statusUpdated", "2023-08-22T19:00:00.000Z", shipment.StatusDelivered, "DELIVERED", "PENDING"),
			b.sendstackStep("order.statusUpdated", "2023-08-22T20:00:00.000Z", shipment.StatusDelivered, "DELIVERED", "CANCELLED"),
		),
		// The same batch seen from the other drop: reported pending again when
		// its sibling is delivered, then cancelled.
		b.sendstack("sendstack: batch of two, this drop cancelled", "SS-BATCH-C", shipment.StatusCancelled,
			b.sendstackStep("order.new", "2023-08-22T17:08:31.117Z", shipment.StatusCreated, "PENDING", "PENDING"),
			b.sendstackStep("order.statusUpdated", "2023-08-22T19:00:00.000Z", shipment.StatusCreated, "PENDING", "DELIVERED"),
			b.sendstackStep("order.statusUpdated", "2023-08-22T20:00:00.000Z", shipment.StatusCancelled, "CANCELLED", "DELIVERED"),
		),
	}
}

// Events maps every step of lc with the real adapter (step i received at
// received+i minutes), checks each maps to exactly one event of the lifecycle's
// shipment with the expected status (events of other shipments in the same
// body are left out), and gives repeatable events the identity they get when
// the steps arrive in life order (state.Arrive). The result is the set of
// distinct events of the lifecycle.
func Events(t testing.TB, lc Lifecycle, received time.Time) []shipment.Event {
	t.Helper()
	var st *state.Shipment
	out := make([]shipment.Event, 0, len(lc.Steps))
	for i, s := range lc.Steps {
		outs, err := adapter.Normalize(adapter.RawRecord{
			Provider: s.Provider, Body: s.Body, ReceivedAt: received.Add(time.Duration(i) * time.Minute),
			Topic: "lifecycle", Offset: int64(i),
		})
		if err != nil {
			t.Fatalf("%s step %d: the %s adapter rejects the body: %v", lc.Name, i, s.Provider, err)
		}
		var mine []adapter.Output
		for _, o := range outs {
			if o.Dead != nil {
				t.Fatalf("%s step %d: the %s adapter dead-letters part of the body: %v", lc.Name, i, s.Provider, o.Dead)
			}
			if o.Event.Subject == lc.Subject {
				mine = append(mine, o)
			}
		}
		if len(mine) != 1 {
			t.Fatalf("%s step %d: want exactly one event of %s, the adapter made %d (of %d)", lc.Name, i, lc.Subject, len(mine), len(outs))
		}
		o := mine[0]
		d := o.Event.Data
		if d.Status != s.Want || d.Terminal != s.WantTerminal {
			t.Fatalf("%s step %d: adapter mapping changed: %s %q maps to %s (terminal %v), the lifecycle expects %s (terminal %v)",
				lc.Name, i, s.Provider, d.ProviderStatus, d.Status, d.Terminal, s.Want, s.WantTerminal)
		}
		if o.Repeatable {
			var epoch int
			st, epoch = state.Arrive(st, d.Status)
			o.Event.ID = shipment.EventID(state.QualifiedKey(o.DedupKey, epoch))
		} else {
			st, _ = state.Arrive(st, d.Status)
		}
		out = append(out, o.Event)
	}
	return out
}

type builder struct {
	t      testing.TB
	suffix string
	// id is the shipment id of the lifecycle being built, dashCategory its Dash
	// category, seq numbers its Sendstack webhooks.
	id           string
	dashCategory string
	seq          int
}

func (b *builder) lifecycle(name, provider, id string, final shipment.Status, steps []func() Step) Lifecycle {
	b.id = id + b.suffix
	lc := Lifecycle{Name: name, Provider: provider, Subject: shipment.Key(provider, b.id), Final: final}
	for _, f := range steps {
		s := f()
		s.Provider = provider
		s.WantTerminal = s.WantTerminal || s.Want.Terminal() || (provider == "dash" && s.Want == shipment.StatusDeliveryFailed && b.dashCategory == "EXPRESS")
		lc.Steps = append(lc.Steps, s)
	}
	return lc
}

// terminal marks a step terminal whatever its status (a KiriminAja final code
// on an exception).
func terminal(f func() Step) func() Step {
	return func() Step {
		s := f()
		s.WantTerminal = true
		return s
	}
}

// testdata reads a fixture as a generic JSON object. As in the adapter's golden
// tests, "seed_<case>.json" is the seed payload schemas/providers/seed/<provider>/<case>.json;
// any other name is a case of the adapter package's testdata/<provider>/.
func (b *builder) testdata(provider, name string) map[string]any {
	var raw []byte
	var err error
	if c, ok := strings.CutPrefix(name, "seed_"); ok {
		raw, err = seed.Read(provider, strings.TrimSuffix(c, ".json"))
	} else {
		_, file, _, _ := runtime.Caller(0)
		raw, err = os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "adapter", "testdata", provider, name))
	}
	if err != nil {
		b.t.Fatalf("reading fixture: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		b.t.Fatalf("decoding fixture %s/%s: %v", provider, name, err)
	}
	return m
}

func (b *builder) encode(m any) []byte {
	out, err := json.Marshal(m)
	if err != nil {
		b.t.Fatalf("encoding body: %v", err)
	}
	return out
}

// kiriminaja

func (b *builder) kiriminaja(name, id string, final shipment.Status, steps ...func() Step) Lifecycle {
	return b.lifecycle(name, "kiriminaja", id, final, steps)
}

// kaTimes are the complete format's data[] stamps ("" = null).
type kaTimes struct{ date, shipped, finished, returned, rejected, reason string }

func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// kaExpress is a complete-format Express webhook (fixture express_shipped_complete.json).
func (b *builder) kaExpress(method string, code int, ts kaTimes, want shipment.Status) func() Step {
	return func() Step {
		m := b.testdata("kiriminaja", "express_shipped_complete.json")
		m["method"] = method
		row := m["data"].([]any)[0].(map[string]any)
		row["order_id"], row["awb"] = b.id, "AWB-"+b.id
		row["date"], row["shipped_at"], row["finished_at"] = orNull(ts.date), orNull(ts.shipped), orNull(ts.finished)
		row["returned_at"], row["rejected_at"], row["reason"] = orNull(ts.returned), orNull(ts.rejected), orNull(ts.reason)
		pkg := m["packages"].([]any)[0].(map[string]any)
		pkg["order_id"], pkg["awb"], pkg["status"] = b.id, "AWB-"+b.id, code
		return Step{Body: b.encode(m), Want: want}
	}
}

// kaShort is the short format {order_id, awb} (seed_express_processed_short.json).
func (b *builder) kaShort(method string, want shipment.Status) func() Step {
	return func() Step {
		m := b.testdata("kiriminaja", "seed_express_processed_short.json")
		m["method"] = method
		row := m["data"].([]any)[0].(map[string]any)
		row["order_id"], row["awb"] = b.id, "AWB-"+b.id
		return Step{Body: b.encode(m), Want: want}
	}
}

// kaLegacy is a body whose data[] rows are a short form (order_id and a few
// fields: seed 002's legacy stamps, the older page's canceled_packages, the
// plugin's validated_packages) from fixture: its first row only, with the
// order id (and AWB, when the row has one) replaced and field set to at.
func (b *builder) kaLegacy(fixture, field, at string, want shipment.Status) func() Step {
	return func() Step {
		m := b.testdata("kiriminaja", fixture)
		row := m["data"].([]any)[0].(map[string]any)
		row["order_id"], row[field] = b.id, at
		if _, ok := row["awb"]; ok {
			row["awb"] = "AWB-" + b.id
		}
		m["data"] = []any{row}
		return Step{Body: b.encode(m), Want: want}
	}
}

// kaUpdateInstant is the legacy Instant cancel (seed_express_update_instant_cancel.json:
// update_instant_packages, status "cancel", data one object) with the order id
// replaced and its event and cancel dates set to at.
func (b *builder) kaUpdateInstant(at string, want shipment.Status) func() Step {
	return func() Step {
		m := b.testdata("kiriminaja", "seed_express_update_instant_cancel.json")
		d := m["data"].(map[string]any)
		d["order_id"], d["event_date"], d["cancel_date"] = b.id, at, at
		return Step{Body: b.encode(m), Want: want}
	}
}

// kaInstant is an Instant seed body with the order id replaced.
func (b *builder) kaInstant(fixture string, want shipment.Status) func() Step {
	return func() Step {
		m := b.testdata("kiriminaja", fixture)
		m["data"].([]any)[0].(map[string]any)["order_id"] = b.id
		m["packages"].([]any)[0].(map[string]any)["order_id"] = b.id
		return Step{Body: b.encode(m), Want: want}
	}
}

// dash

func (b *builder) dash(name, id, category string, final shipment.Status, steps ...func() Step) Lifecycle {
	b.dashCategory = category
	return b.lifecycle(name, "dash", id, final, steps)
}

// dashStep is a Dash webhook (fixture seed_express_completed.json for EXPRESS,
// logistic_failed_recoverable.json for LOGISTIC) with the category explicit,
// updatedAt and the status's own stamp set to at.
func (b *builder) dashStep(status, at string, want shipment.Status) func() Step {
	return func() Step {
		base := "seed_express_completed.json"
		if b.dashCategory == "LOGISTIC" {
			base = "logistic_failed_recoverable.json"
		}
		m := b.testdata("dash", base)
		m["deliveryID"], m["providerOrderID"], m["status"], m["category"] = b.id, "AWB-"+b.id, status, b.dashCategory
		for _, k := range []string{"completedAt", "failedAt", "cancelledAt", "failedReason", "cancelledReason", "updatedAt"} {
			delete(m, k)
		}
		switch status {
		case "COMPLETED":
			m["completedAt"] = at
		case "FAILED":
			m["failedAt"], m["failedReason"] = at, "Penerima tidak di tempat"
		case "CANCELLED":
			m["cancelledAt"], m["cancelledReason"] = at, "Dibatalkan oleh pengirim"
		default:
			m["updatedAt"] = at
		}
		return Step{Body: b.encode(m), Want: want}
	}
}

// komerce

func (b *builder) komerce(name, id string, final shipment.Status, steps ...func() Step) Lifecycle {
	return b.lifecycle(name, "komerce", id, final, steps)
}

// komerceStep is the documented body {order_no, cnote, status} (fixture status_dikirim.json).
func (b *builder) komerceStep(status string, want shipment.Status) func() Step {
	return func() Step {
		m := b.testdata("komerce", "status_dikirim.json")
		m["order_no"], m["cnote"], m["status"] = b.id, "JNE-"+b.id, status
		return Step{Body: b.encode(m), Want: want}
	}
}

// sendstack

func (b *builder) sendstack(name, id string, final shipment.Status, steps ...func() Step) Lifecycle {
	return b.lifecycle(name, "sendstack", id, final, steps)
}

// sendstackStep is the seed order.new body (fixture seed_order_new.json) with
// the eventType set, updatedAt set to at on updates (createdAt stays the
// batch's), and one drop per status: the first is this shipment's, the others
// are further drops of the batch (other shipments, ids "<id>-2", "<id>-3", ...).
// The webhookId is unique per step.
func (b *builder) sendstackStep(eventType, at string, want shipment.Status, dropStatuses ...string) func() Step {
	return func() Step {
		b.seq++
		m := b.testdata("sendstack", "seed_order_new.json")
		m["eventType"], m["webhookId"] = eventType, fmt.Sprintf("wh-%s-%d", b.id, b.seq)
		if eventType != "order.new" {
			m["updatedAt"] = at
		}
		first := m["drops"].([]any)[0].(map[string]any)
		drops := make([]any, 0, len(dropStatuses))
		for k, status := range dropStatuses {
			id := b.id
			if k > 0 {
				id = fmt.Sprintf("%s-%d", b.id, k+1)
			}
			drop := maps.Clone(first)
			drop["id"], drop["status"], drop["trackingId"] = id, status, "TRK-"+id
			drops = append(drops, drop)
		}
		m["drops"] = drops
		return Step{Body: b.encode(m), Want: want}
	}
}
