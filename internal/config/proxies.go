package config

import (
	"fmt"
	"net/netip"
	"slices"
)

// Trusted proxy prefixes broader than these are refused: no proxy network
// is larger than 10.0.0.0/8 or the IPv6 unique local fc00::/7, and a wider
// one takes in public addresses wholesale, which lets every client there
// write its own X-Forwarded-For. 0.0.0.0/0, ::/0 and ::ffff:0:0/96 (every
// IPv4 address, mapped) are the extreme case.
const (
	minProxyBits4 = 8
	minProxyBits6 = 7
)

// checkProxies refuses a trusted-proxy list that is catch-all in effect:
// a prefix broader than any proxy network, or prefixes that together cover
// every IPv4 or every IPv6 address. The prefixes are masked, and IPv4
// ones unmapped.
func checkProxies(ps []netip.Prefix) error {
	for _, p := range ps {
		if want := minProxyBits(p); p.Bits() < want {
			return fmt.Errorf("GATEHOUSE_TRUSTED_PROXIES: %s takes in far more than a proxy network (it must be /%d or narrower), so any client could choose its address: list the proxies' own addresses or network", p, want)
		}
	}
	for _, is4 := range []bool{true, false} {
		if coversAll(ps, is4) {
			return fmt.Errorf("GATEHOUSE_TRUSTED_PROXIES: together the prefixes cover every %s address, so any client could choose its address: list the proxies' own addresses or network", family(is4))
		}
	}
	return nil
}

func minProxyBits(p netip.Prefix) int {
	if p.Addr().Is4() {
		return minProxyBits4
	}
	return minProxyBits6
}

func family(is4 bool) string {
	if is4 {
		return "IPv4"
	}
	return "IPv6"
}

// coversAll reports whether the prefixes of one family leave no address of
// it out.
func coversAll(ps []netip.Prefix, is4 bool) bool {
	var fam []netip.Prefix
	for _, p := range ps {
		if p.Addr().Is4() == is4 {
			fam = append(fam, p)
		}
	}
	slices.SortFunc(fam, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	next := netip.IPv6Unspecified() // the first address not yet covered
	if is4 {
		next = netip.IPv4Unspecified()
	}
	for _, p := range fam {
		if p.Addr().Compare(next) > 0 {
			return false // a gap before p
		}
		last := lastAddr(p)
		if !last.Next().IsValid() {
			return true // p reaches the family's last address
		}
		if last.Next().Compare(next) > 0 {
			next = last.Next()
		}
	}
	return false
}

// lastAddr is the highest address of a masked prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
