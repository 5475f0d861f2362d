package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientIP is the address of the client that sent r: the peer's, or, when
// the peer is a trusted proxy, the one its X-Forwarded-For reports. It is
// what the login throttle counts by, what session records keep and what the
// logs show.
func (s *Server) clientIP(r *http.Request) string {
	return clientAddr(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), s.cfg.TrustedProxies)
}

// clientAddr finds the client's address from the peer's (remoteAddr) and
// the X-Forwarded-For header lines, given the trusted proxies.
//
// Unless the peer is a trusted proxy, the header is ignored: anyone can
// send it. When it is, the header is read from the right, skipping the
// addresses of trusted proxies, and the first other address is the
// client's. Right-most, because every proxy appends the address of
// whoever connected to it: the entries on the right were written by our
// own proxies, and everything to the left of the first untrusted address
// was written by that client (or whoever it relays), which can write
// anything. The left-most entry, often taken for the client's, is the one
// most easily forged.
//
// An entry that is not an IP address (optionally with a port) ends the
// walk, and the address is the trusted hop that reported it: entries
// further left are never believed past one that cannot be checked. If every
// entry is a trusted proxy, the left-most one is the client.
func clientAddr(remoteAddr string, forwarded []string, trusted []netip.Prefix) string {
	peer, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
			return host
		}
		return remoteAddr
	}
	addr := peer.Addr().Unmap().WithZone("")
	if !isTrusted(addr, trusted) {
		return addr.String()
	}
	for i := len(forwarded) - 1; i >= 0; i-- {
		rest := forwarded[i]
		for rest != "" {
			var entry string
			if j := strings.LastIndexByte(rest, ','); j >= 0 {
				entry, rest = rest[j+1:], rest[:j]
			} else {
				entry, rest = rest, ""
			}
			hop, ok := parseForwarded(strings.TrimSpace(entry))
			if !ok {
				return addr.String()
			}
			addr = hop
			if !isTrusted(hop, trusted) {
				return hop.String()
			}
		}
	}
	return addr.String()
}

// parseForwarded reads one X-Forwarded-For entry: 192.0.2.1, 2001:db8::1,
// [2001:db8::1], or either with a port.
func parseForwarded(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		if perr != nil {
			if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
				return netip.Addr{}, false
			}
			if a, err = netip.ParseAddr(s[1 : len(s)-1]); err != nil {
				return netip.Addr{}, false
			}
		} else {
			a = ap.Addr()
		}
	}
	if a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
