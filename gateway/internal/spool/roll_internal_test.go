package spool

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// One group commit whose records straddle a segment roll: the records written
// to the old segment before the roll must stay readable (they are acked).
func TestSpool_GroupCommitAcrossRollKeepsEarlierRecords(t *testing.T) {
	rec := func(v string) Record { return Record{Key: []byte("k"), Value: []byte(v), AppendedAt: time.Unix(1, 0)} }
	frameLen := int64(len(Frame(rec("1"))))
	s, err := Open(t.TempDir(), Options{MaxBytes: 1 << 20, SegmentBytes: frameLen*2 + frameLen/2}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })

	var reqs []*appendReq
	for _, v := range []string{"1", "2", "3"} {
		reqs = append(reqs, &appendReq{frame: Frame(rec(v)), done: make(chan error, 1)})
	}
	s.writeBatch(reqs) // "1", "2" in the first segment, "3" in the next
	for _, r := range reqs {
		require.NoError(t, <-r.done)
	}
	require.EqualValues(t, 3, s.Len())

	got, err := s.ReadBatch(10, 1<<20)
	require.NoError(t, err)
	var values []string
	for _, e := range got {
		values = append(values, string(e.Record.Value))
	}
	require.Equal(t, []string{"1", "2", "3"}, values)
	require.NoError(t, s.Commit(got))
	require.EqualValues(t, 0, s.Len())
}
