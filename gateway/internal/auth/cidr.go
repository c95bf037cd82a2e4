package auth

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// ParsePrefixes parses CIDRs and bare addresses ("10.0.0.0/8", "192.0.2.7",
// "2001:db8::/32"). IPv4-mapped IPv6 entries ("::ffff:192.0.2.0/120") become
// their IPv4 form, as peers are unmapped before matching; otherwise they would
// never match. Empty entries are skipped.
func ParsePrefixes(cidrs []string) ([]netip.Prefix, error) {
	prefixes := make([]netip.Prefix, 0, len(cidrs))
	for _, c := range cidrs {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		p, err := netip.ParsePrefix(c)
		if err != nil {
			a, aerr := netip.ParseAddr(c)
			if aerr != nil {
				return nil, fmt.Errorf("parsing CIDR %q: %w", c, err)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		prefixes = append(prefixes, p.Masked())
	}
	return prefixes, nil
}

// contains reports whether ip (unmapped first) is inside one of prefixes.
func contains(prefixes []netip.Prefix, ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// AllowCIDRs passes requests whose source address (Request.RemoteIP) is inside
// one of the prefixes. It reports no variant of its own; combine it with All.
func AllowCIDRs(cidrs []string) (Verifier, error) {
	prefixes, err := ParsePrefixes(cidrs)
	if err != nil {
		return nil, err
	}
	return VerifierFunc(func(r *Request) (Match, error) {
		if contains(prefixes, r.RemoteIP) {
			return Match{}, nil
		}
		return Match{}, ErrSourceIP
	}), nil
}

// RemoteAddr parses the host part of an http.Request.RemoteAddr, unmapping
// IPv4-mapped IPv6 addresses (a dual-stack listener reports IPv4 peers as
// ::ffff:a.b.c.d). It is the zero Addr when remote does not parse.
func RemoteAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}
