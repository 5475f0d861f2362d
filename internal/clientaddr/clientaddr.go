// Package clientaddr says which client a request's address stands for,
// for the limits that count per client.
package clientaddr

import "net/netip"

// Network is what an address's counters are kept for: an IPv4 address
// itself, but the /64 of an IPv6 address, because one subscriber usually
// holds a whole /64 and could otherwise take a fresh address per request.
// Anything that is not an IP address is used as it is.
func Network(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}
