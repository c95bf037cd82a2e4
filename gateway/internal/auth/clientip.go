package auth

import (
	"net/netip"
	"strings"
)

// TrustedProxies decides which address a request comes from. Behind an
// ingress or load balancer every TCP peer is the proxy, so a source allowlist
// would see only the proxy; the proxy reports the client in X-Forwarded-For.
// That header is believed only when the peer is one of the trusted proxies,
// otherwise any client could claim any address.
type TrustedProxies struct {
	prefixes []netip.Prefix
}

// NewTrustedProxies parses the proxies' CIDRs or addresses (ParsePrefixes).
// With none, ClientIP is always the TCP peer.
func NewTrustedProxies(cidrs []string) (TrustedProxies, error) {
	p, err := ParsePrefixes(cidrs)
	return TrustedProxies{prefixes: p}, err
}

// ClientIP returns the client address of a request from peer carrying the
// X-Forwarded-For values xff. When peer is not a trusted proxy, or there is no
// X-Forwarded-For, it is peer. Otherwise the X-Forwarded-For list (all header
// lines, comma-separated, in order) is read from the right, skipping addresses
// that are themselves trusted proxies: the first one that is not is the client
// (the leftmost entries are whatever the client sent and prove nothing). When
// every entry is a trusted proxy the leftmost is returned. An entry that does
// not parse as an address stops the walk and gives the zero Addr, which no
// allowlist contains (fail closed).
func (t TrustedProxies) ClientIP(peer netip.Addr, xff []string) netip.Addr {
	peer = peer.Unmap()
	if len(t.prefixes) == 0 || !contains(t.prefixes, peer) {
		return peer
	}
	var hops []string
	for _, line := range xff {
		for _, h := range strings.Split(line, ",") {
			if h = strings.TrimSpace(h); h != "" {
				hops = append(hops, h)
			}
		}
	}
	if len(hops) == 0 {
		return peer
	}
	var a netip.Addr
	for i := len(hops) - 1; i >= 0; i-- {
		var err error
		if a, err = parseHop(hops[i]); err != nil {
			return netip.Addr{}
		}
		if !contains(t.prefixes, a) {
			return a
		}
	}
	return a
}

// parseHop parses one X-Forwarded-For entry: an address, optionally with a
// port ("192.0.2.1:4711", "[2001:db8::1]:4711").
func parseHop(h string) (netip.Addr, error) {
	if ap, err := netip.ParseAddrPort(h); err == nil {
		return ap.Addr().Unmap(), nil
	}
	a, err := netip.ParseAddr(strings.Trim(h, "[]"))
	return a.Unmap(), err
}
