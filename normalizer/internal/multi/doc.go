// Package multi queues a Redis transaction (MULTI ... EXEC) as plain commands on
// a pipeline. Unlike go-redis's TxPipeline, commands queued after End on the same
// pipeline run after the transaction in the same round trip: the consumer sends
// the next batch's claim and reads right behind a batch's final transaction, and
// renormalize writes state, marks, index and checkpoint in one.
//
// It is the one place that reads a transaction's outcome from the replies: Redis
// refusing a queued command (wrong arity, unknown command) aborts the whole
// transaction with EXECABORT, and a command failing inside it (wrong type) shows
// as an error element of EXEC's reply while the others were applied.
package multi
