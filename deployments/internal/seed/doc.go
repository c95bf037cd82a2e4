// Package seed knows the demo side of the providers: the documented demo
// credentials the launcher gives the gateway and the requests authenticated with
// them (both from the gateway's provider table, gateway/client), and the
// payloads the demo posts: the seed payloads of
// schemas/providers/seed (embedded there, never copied) and, for the demo's -all,
// the normalizer's own drift, edge and poison cases read in place.
package seed
