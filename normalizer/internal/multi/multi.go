package multi

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// errNotEnded is Tx.Err's answer when End was never called (a programming error).
var errNotEnded = errors.New("multi: transaction not ended")

// Tx is a MULTI ... EXEC queued on a pipeline. Commands queued on the pipeline
// between Begin and End are the transaction's.
type Tx struct {
	multi, exec *redis.Cmd
}

// Begin queues MULTI on pipe.
func Begin(ctx context.Context, pipe redis.Pipeliner) *Tx {
	return &Tx{multi: pipe.Do(ctx, "multi")}
}

// End queues EXEC on pipe. Call it once, after the transaction's commands.
func (t *Tx) End(ctx context.Context, pipe redis.Pipeliner) {
	t.exec = pipe.Do(ctx, "exec")
}

// Err is the transaction's error once the pipeline ran (its Exec error may be
// ignored: each command carries its own): MULTI's or EXEC's error (EXECABORT
// when Redis refused a queued command; nothing was written then), else the first
// error among the replies of the commands inside it. nil means every command of
// the transaction succeeded.
func (t *Tx) Err() error {
	if err := t.multi.Err(); err != nil {
		return err
	}
	if t.exec == nil {
		return errNotEnded
	}
	res, err := t.exec.Slice()
	if err != nil {
		return err
	}
	for _, r := range res {
		if e, ok := r.(error); ok {
			return e
		}
	}
	return nil
}
