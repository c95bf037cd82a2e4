// Package seed knows the demo side of the providers: the documented demo
// credentials the launcher gives the gateway, how each provider authenticates a
// request with them, and where the seed example payloads live in the repository
// (the normalizer's or the gateway's fixtures; they are read in place, never copied).
package seed
