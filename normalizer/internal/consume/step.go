package consume

import "errors"

// Step names the part of a batch's work that failed. Its value is the step
// label of normalizer_batch_retries_total and the step field of the retry log
// line; dashboards select on these values, so they do not change.
type Step string

// The steps, in the order a batch meets them.
const (
	// StepFetch is fetching raw records; broker.FetchRetrying retries it inside
	// the fetch loop, so it is counted but never a StepError.
	StepFetch Step = "fetch"
	// StepClaim is claiming the batch's raw partitions (package inflight) in the
	// first Redis round trip.
	StepClaim Step = "claim"
	// StepClaimBusy is another live consumer holding a claim (ErrPartitionBusy).
	StepClaimBusy Step = "claim_busy"
	// StepRecover is recovering a stale claim: scanning the canonical topic,
	// marking what it holds and dropping the claim.
	StepRecover Step = "recover"
	// StepDedupCheck is reading dedup marks (and re-delivery window marks).
	StepDedupCheck Step = "dedup_check"
	// StepStateRead is reading the shipments' state.
	StepStateRead Step = "state_read"
	// StepEncode is encoding an event again after the state qualified its id.
	StepEncode Step = "encode"
	// StepLease is an attempt too slow for its claim's lease (ErrLeaseAtRisk).
	StepLease Step = "lease"
	// StepProduce is the one Kafka write of the batch's events and dead letters.
	StepProduce Step = "produce"
	// StepStateWrite is queueing the state write in the final transaction.
	StepStateWrite Step = "state_write"
	// StepFinish is the final transaction: state, dedup marks, lookup index and
	// the release of the claims.
	StepFinish Step = "finish"
)

// StepError is the error of a failed batch attempt: the step that failed and
// why. Every attempt error is transient: the batch is retried with backoff and
// nothing past it is committed. The error Run returns when the drain deadline
// cuts a batch short wraps the last one (errors.As).
type StepError struct {
	Step Step
	Err  error
}

// Error is "<step>: <cause>".
func (e *StepError) Error() string { return string(e.Step) + ": " + e.Err.Error() }

// Unwrap returns the cause, so errors.Is(err, ErrPartitionBusy) and the like hold.
func (e *StepError) Unwrap() error { return e.Err }

// failed wraps err as the failure of step.
func failed(step Step, err error) error { return &StepError{Step: step, Err: err} }

// stepOf splits an attempt error into its step and its cause.
func stepOf(err error) (Step, error) {
	var se *StepError
	if errors.As(err, &se) {
		return se.Step, se.Err
	}
	return "", err
}
