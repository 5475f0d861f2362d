package server

import (
	"net/netip"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

func proxies(t testing.TB, s string) []netip.Prefix {
	p, err := config.ParseTrustedProxies(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClientAddr(t *testing.T) {
	const lb = "10.0.0.5:41000" // a load balancer in 10.0.0.0/8
	cases := []struct {
		name    string
		trusted string
		peer    string
		xff     []string
		want    string
	}{
		{"no proxies: the header is ignored", "", "203.0.113.7:5000", []string{"198.51.100.1"}, "203.0.113.7"},
		{"no proxies, no header", "", "203.0.113.7:5000", nil, "203.0.113.7"},
		{"untrusted peer: the header is ignored", "10.0.0.0/8", "203.0.113.7:5000", []string{"198.51.100.1"}, "203.0.113.7"},
		{"trusted peer without header", "10.0.0.0/8", lb, nil, "10.0.0.5"},
		{"trusted peer: its client", "10.0.0.0/8", lb, []string{"198.51.100.1"}, "198.51.100.1"},
		{"spoofed entries on the left are ignored", "10.0.0.0/8", lb, []string{"1.1.1.1, 2.2.2.2, 198.51.100.1"}, "198.51.100.1"},
		{"a chain of trusted proxies is skipped", "10.0.0.0/8", lb, []string{"1.1.1.1, 198.51.100.1, 10.0.0.9, 10.1.2.3"}, "198.51.100.1"},
		{"a spoofed trusted address left of the client is not reached", "10.0.0.0/8", lb, []string{"10.9.9.9, 198.51.100.1"}, "198.51.100.1"},
		{"several header lines are one list", "10.0.0.0/8", lb, []string{"1.1.1.1", "198.51.100.1, 10.0.0.9"}, "198.51.100.1"},
		{"every hop trusted: the left-most", "10.0.0.0/8", lb, []string{"10.0.0.1, 10.0.0.2"}, "10.0.0.1"},
		{"a single trusted address", "10.0.0.5", lb, []string{"198.51.100.1"}, "198.51.100.1"},
		{"a neighbour of a single trusted address is not trusted", "10.0.0.6", lb, []string{"198.51.100.1"}, "10.0.0.5"},
		{"whitespace around entries", "10.0.0.0/8", lb, []string{"  198.51.100.1  ,10.0.0.9 "}, "198.51.100.1"},
		{"an entry with a port", "10.0.0.0/8", lb, []string{"198.51.100.1:4711"}, "198.51.100.1"},
		{"IPv6 peer and client", "fd00::/8", "[fd00::5]:443", []string{"2001:db8::1"}, "2001:db8::1"},
		{"bracketed IPv6 entry", "fd00::/8", "[fd00::5]:443", []string{"[2001:db8::1]"}, "2001:db8::1"},
		{"bracketed IPv6 entry with a port", "fd00::/8", "[fd00::5]:443", []string{"[2001:db8::1]:8080"}, "2001:db8::1"},
		{"IPv6 peer not trusted", "fd00::/8", "[2001:db8::9]:443", []string{"198.51.100.1"}, "2001:db8::9"},
		{"IPv4-mapped peer matches an IPv4 range", "10.0.0.0/8", "[::ffff:10.0.0.5]:41000", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
		{"peer with a zone", "fe80::/10", "[fe80::1%eth0]:41000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"garbage: the hop that reported it", "10.0.0.0/8", lb, []string{"198.51.100.1, garbage"}, "10.0.0.5"},
		{"garbage further left is never reached", "10.0.0.0/8", lb, []string{"garbage, 198.51.100.1"}, "198.51.100.1"},
		{"garbage after a trusted hop: that hop", "10.0.0.0/8", lb, []string{"198.51.100.1, unknown, 10.0.0.9"}, "10.0.0.9"},
		{"empty entry stops the walk", "10.0.0.0/8", lb, []string{"198.51.100.1,"}, "10.0.0.5"},
		{"empty header line", "10.0.0.0/8", lb, []string{"198.51.100.1", ""}, "198.51.100.1"},
		{"a zone in an entry is garbage", "10.0.0.0/8", lb, []string{"fe80::1%eth0"}, "10.0.0.5"},
		{"a host name is garbage", "10.0.0.0/8", lb, []string{"client.example.com"}, "10.0.0.5"},
		{"a CIDR is garbage", "10.0.0.0/8", lb, []string{"198.51.100.0/24"}, "10.0.0.5"},
		{"an out-of-range octet is garbage", "10.0.0.0/8", lb, []string{"198.51.100.300"}, "10.0.0.5"},
		{"a peer that is no address is used as it is", "10.0.0.0/8", "pipe", []string{"198.51.100.1"}, "pipe"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := clientAddr(tc.peer, tc.xff, proxies(t, tc.trusted)); got != tc.want {
				t.Fatalf("clientAddr(%q, %q, %q) = %q, want %q", tc.peer, tc.xff, tc.trusted, got, tc.want)
			}
		})
	}
}

// FuzzClientAddr checks that any header from a trusted peer yields an IP
// address, in normal form, and never a panic.
func FuzzClientAddr(f *testing.F) {
	for _, seed := range []string{"198.51.100.1", "1.1.1.1, 10.0.0.9", "[2001:db8::1]:80", ",,,", "garbage, 10.0.0.1", "::ffff:1.2.3.4"} {
		f.Add(seed)
	}
	trusted := proxies(f, "10.0.0.0/8")
	f.Fuzz(func(t *testing.T, header string) {
		got := clientAddr("10.0.0.5:1000", []string{header}, trusted)
		a, err := netip.ParseAddr(got)
		if err != nil {
			t.Fatalf("%q gave %q, not an address", header, got)
		}
		if got == "10.0.0.5" {
			return
		}
		if a.Zone() != "" || a.Is4In6() {
			t.Fatalf("%q gave %q: not normalised", header, got)
		}
	})
}
