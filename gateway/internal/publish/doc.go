// Package publish makes an accepted webhook durable: Durable writes it to Kafka
// (acks=all) within a deadline, falls back to the disk spool when Kafka fails or
// is slow, keeps sending new records to the spool while it holds anything (so
// per-key order holds), and runs the forwarder that drains the spool to Kafka in
// order. Discard is the benchmark-only publisher that drops records.
package publish
