package adapter_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// identityCase is a pair of bodies of one provider and whether they are the
// same provider event (same DedupKey) or not.
type identityCase struct {
	name, provider, a, b string
	same                 bool
	// repeatable is the expected Output.Repeatable of a.
	repeatable bool
}

// TestIdentity_PerProvider is schemas/README.md's identity table as a test:
// an exact re-delivery (same bytes, or the same provider event id) keeps the
// key; a changed AWB, a new attempt or a different provider time changes it;
// Repeatable is set exactly when the key holds no provider time, sequence or
// event id.
func TestIdentity_PerProvider(t *testing.T) {
	const (
		kjShort    = `{"method":"processed_packages","data":[{"order_id":"O-1","awb":"AWB-1","sorting_code":"JOG"}]}`
		kjShortAWB = `{"method":"processed_packages","data":[{"order_id":"O-1","awb":"AWB-2","sorting_code":"JOG"}]}`
		kjShipped  = `{"method":"shipped_packages","data":[{"order_id":"O-1","awb":"AWB-1","shipped_at":"2025-08-05 09:00:00"}]}`
		kjShipped2 = `{"method":"shipped_packages","data":[{"order_id":"O-1","awb":"AWB-1","shipped_at":"2025-08-05 09:30:00"}]}`
		kjProblemA = `{"method":"problem_packages","data":[{"order_id":"O-1","awb":"AWB-1","date":"2026-06-29T09:56:22Z","reason":""}]}`
		kjProblemB = `{"method":"problem_packages","data":[{"order_id":"O-1","awb":"AWB-1","date":"2026-06-29T09:56:22Z","reason":"Alamat tidak lengkap"}]}`
		dashFailed = `{"deliveryID":"DE-1","status":"FAILED","failedCount":1,"serviceCategory":"LOGISTIC","failedAt":"2025-05-20T06:00:00.000Z"}`
		dashPD1    = `{"deliveryID":"DE-1","status":"PENDING_DELIVERY","serviceCategory":"LOGISTIC","failedCount":0}`
		dashPD2    = `{"deliveryID":"DE-1","status":"PENDING_DELIVERY","serviceCategory":"LOGISTIC","failedCount":1}`
		dashUpd1   = `{"deliveryID":"DE-1","status":"PENDING_PICKUP","updatedAt":"2024-12-27T14:18:58.750Z","courier":{"name":"A"}}`
		dashUpd2   = `{"deliveryID":"DE-1","status":"PENDING_PICKUP","updatedAt":"2024-12-27T14:20:00.000Z","courier":{"name":"B"}}`
		komDikirim = `{"order_no":"K-1","cnote":"C-1","status":"Dikirim"}`
		komNewAWB  = `{"order_no":"K-1","cnote":"C-2","status":"Dikirim"}`
		ssA        = `{"eventType":"order.new","webhookId":"w1","createdAt":"2023-08-22T17:08:31.117Z","drops":[{"id":"d1","status":"PENDING"}]}`
		ssAReord   = `{"webhookId":"w1","drops":[{"status":"PENDING","id":"d1"}],"createdAt":"2023-08-22T17:08:31.117Z","eventType":"order.new"}`
		ssB        = `{"eventType":"order.new","webhookId":"w2","createdAt":"2023-08-22T17:08:31.117Z","drops":[{"id":"d1","status":"PENDING"}]}`
		ssNoID1    = `{"eventType":"x","drops":[{"id":"d1","status":"PENDING"}]}`
		ssNoID2    = `{"eventType":"x","drops":[{"id":"d1","status":"DELIVERED"}]}`
	)
	tests := []identityCase{
		{"kiriminaja same bytes", "kiriminaja", kjShipped, kjShipped, true, false},
		{"kiriminaja processed with a new AWB", "kiriminaja", kjShort, kjShortAWB, false, true},
		{"kiriminaja different provider time", "kiriminaja", kjShipped, kjShipped2, false, false},
		{"kiriminaja problem re-sent with a new reason", "kiriminaja", kjProblemA, kjProblemB, false, false},
		{"dash same bytes", "dash", dashFailed, dashFailed, true, false},
		{"dash recovery: new attempt without a time", "dash", dashPD1, dashPD2, false, true},
		{"dash reassignment: new updatedAt", "dash", dashUpd1, dashUpd2, false, false},
		{"komerce same bytes", "komerce", komDikirim, komDikirim, true, true},
		{"komerce new AWB", "komerce", komDikirim, komNewAWB, false, true},
		{"sendstack same webhookId, other bytes", "sendstack", ssA, ssAReord, true, false},
		{"sendstack other webhookId", "sendstack", ssA, ssB, false, false},
		{"sendstack no webhookId, drop status changed", "sendstack", ssNoID1, ssNoID2, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := normalize(t, tc.provider, tc.a)
			require.NoError(t, err)
			b, err := normalize(t, tc.provider, tc.b)
			require.NoError(t, err)
			require.Len(t, a, 1)
			require.Len(t, b, 1)
			if tc.same {
				assert.Equal(t, a[0].DedupKey, b[0].DedupKey)
				assert.Equal(t, a[0].Event.ID, b[0].Event.ID)
			} else {
				assert.NotEqual(t, a[0].DedupKey, b[0].DedupKey)
			}
			assert.Equal(t, tc.repeatable, a[0].Repeatable, "Repeatable of %s", a[0].DedupKey)
		})
	}
}
