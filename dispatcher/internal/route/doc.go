// Package route parses and validates the dispatcher's routing file and decides,
// for one canonical event, which sinks receive it.
//
// The file (DISPATCHER_ROUTES_FILE, see routes.example.yaml) declares sinks and
// routes. A route has a match expression and one or more destinations:
//
//	sinks:
//	  ops-webhook: {kind: http, url: "https://ops.example/hooks", secrets: ["whsec_..."]}
//	routes:
//	  - name: failures
//	    match:
//	      any:
//	        - status: {in: [delivery_failed, returned, exception]}
//	        - field: data.courier.company
//	          equals: JNE
//	    to: [ops-webhook]
//
// Load rejects unknown keys, unknown sinks, bad status or service-type values,
// empty routes and unparsable templates, naming the route or sink at fault, so a
// bad file stops the service at start instead of silently dropping events.
// Evaluation is pure: Table.Match does no I/O.
package route
