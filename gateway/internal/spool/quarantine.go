package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// Quarantine: records Kafka refused for good, moved whole out of the spool
// for an operator (gateway requeue-quarantine).

// QuarantineDir is the directory Quarantine writes to.
func (s *Spool) QuarantineDir() string { return filepath.Join(s.dir, quarantineDir) }

// Quarantine moves e, which must be the head entry (the first one ReadBatch
// returns), out of the way of the records behind it: its whole frame (the same
// bytes as in a segment: length, CRC32-C, encoded key, value and headers) is
// written to <dir>/quarantine/<segment>-<offset>.rec and reason to the .reason
// sidecar, both fsynced with the directory, and only then is e committed. An
// acknowledged webhook is never dropped: it waits there for an operator (see
// ReadQuarantined). It returns the .rec path.
func (s *Spool) Quarantine(e Entry, reason string) (string, error) {
	qdir := s.QuarantineDir()
	if err := os.MkdirAll(qdir, 0o750); err != nil {
		return "", fmt.Errorf("creating quarantine dir: %w", err)
	}
	base := filepath.Join(qdir, fmt.Sprintf("%020d-%020d", e.End.Seq, e.End.Off-e.Size))
	if err := writeFileSync(base+QuarantineReasonSuffix, []byte(reason+"\n")); err != nil {
		return "", err
	}
	if err := writeFileSync(base+QuarantineSuffix, Frame(e.Record)); err != nil {
		return "", err
	}
	if err := syncDir(qdir); err != nil {
		return "", err
	}
	if err := s.Commit([]Entry{e}); err != nil {
		// The record is in quarantine and still at the head: after a restart it
		// is forwarded (or quarantined) again under the same name.
		return "", err
	}
	return base + QuarantineSuffix, nil
}

// Quarantined lists the quarantined .rec files in spool order.
func (s *Spool) Quarantined() []string { return QuarantinedFiles(s.dir) }

// QuarantinedFiles lists the quarantined .rec files of the spool in dir, in
// spool order (their names are the segment and offset they had).
func QuarantinedFiles(dir string) []string {
	files, _ := filepath.Glob(filepath.Join(dir, quarantineDir, "*"+QuarantineSuffix))
	slices.Sort(files)
	return files
}

// ReadQuarantined decodes a quarantined .rec file (one spool frame).
func ReadQuarantined(path string) (Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return Record{}, fmt.Errorf("opening quarantined record: %w", err)
	}
	defer f.Close()
	rec, _, err := readFrame(f, 0)
	return rec, err
}
