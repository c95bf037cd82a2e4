// Package app is the dispatcher's composition root: it loads the configuration
// and the routes file, builds the sinks, the retry publisher and the ops server,
// creates the topics, and runs the delivery runtime (internal/deliver) until the
// context ends, closing every writer afterwards. Replay (replay.go) re-sends
// dead-lettered deliveries straight to their sinks, without the runtime.
package app
