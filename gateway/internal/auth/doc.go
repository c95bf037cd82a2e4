// Package auth verifies that a webhook request comes from the provider it claims
// to come from. Each provider's scheme is a preset (Bearer, HeaderPair, HMAC,
// URLToken, None) behind the one-method Verifier interface, modelled on convoy's
// pkg/verifier. Every comparison is constant-time and every preset fails closed:
// a preset built without a secret refuses every request.
package auth
