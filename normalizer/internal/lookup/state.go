package lookup

import (
	"context"

	"github.com/courierhook/pipeline/normalizer/internal/state"
)

// StateStore reads shipment states (state.Redis).
type StateStore interface {
	Get(ctx context.Context, subjects []string) ([]*state.Shipment, error)
}

// States is the StateReader over the normalizer's state store.
type States struct{ Store StateStore }

// Current implements StateReader: the state's current event (status, sub-status,
// terminal, id and provider time; the time is zero when the provider gave none).
func (s States) Current(ctx context.Context, subject string) (*Current, error) {
	got, err := s.Store.Get(ctx, []string{subject})
	if err != nil {
		return nil, err
	}
	st := got[0]
	if st == nil || st.Current() == nil {
		return nil, nil
	}
	c := &Current{Status: string(st.Status()), SubStatus: st.SubStatus(), Terminal: st.Terminal(), EventID: st.EventID()}
	if t, ok := st.OccurredAt(); ok {
		c.At = t
	}
	return c, nil
}
