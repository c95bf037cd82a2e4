// Package spool is the gateway's local, bounded, append-only disk log for records
// that could not reach Kafka in time.
//
// Layout: a directory of segment files (seg-<seq>.log) and a cursor file. Each
// record is a frame: 4-byte big-endian payload length, 4-byte CRC-32C of the
// payload, payload (see Encode). Appends are group-committed: one goroutine
// writes every append that is waiting and fsyncs once for all of them, and an
// Append returns only after its frame is fsynced. The reader (the gateway's
// forwarder) reads frames in order from the cursor and calls Commit after Kafka
// acknowledged them; Commit persists the cursor and deletes fully consumed
// segments. On Open, a torn or corrupt tail of the last segment (a crash in the
// middle of a write) is truncated, not fatal.
//
// Delivery is at-least-once: a crash between a Kafka ack and the cursor write
// sends those records again on the next start.
//
// Files by role: spool.go (types, Open, Close, Stats), recovery.go (what Open
// rebuilds after a restart or crash), writer.go (Append and the group-commit
// writer, segment rolls), reader.go (ReadBatch, Commit, the cursor),
// quarantine.go (records Kafka refused for good), record.go (the frame
// payload encoding).
package spool
