// Package app is the normalizer's composition root: it turns the typed Config
// into Kafka, Redis and ops clients, wires them into the consumer, and runs
// everything until the context ends, shutting down in a fixed order (STYLE.md
// G11): stop fetching → finish and commit the batch in flight → leave the group →
// close the writer → close Redis → stop the ops server.
package app
