// Package platform is the shared runtime plumbing of the courier webhook pipeline:
// logging, configuration, Kafka client builders (and the gateway's group-commit
// producer), the operations HTTP server, signal-driven lifecycle, and the test
// kit that gives integration tests a real Kafka broker and a real Redis server.
// It holds no business logic; services import it, it never imports a service.
package platform
