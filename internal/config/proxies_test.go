package config

import (
	"fmt"
	"strings"
	"testing"
)

// A trusted proxy list that takes in every address lets any client write
// the address the throttle counts it by; every spelling of it is refused.
func TestCatchAllProxiesAreRefused(t *testing.T) {
	for _, in := range []string{
		"0.0.0.0/0",
		"::/0",
		"10.0.0.0/8, 0.0.0.0/0",
		"1.2.3.4/0",         // any address with /0
		"::ffff:0:0/96",     // every IPv4 address, mapped
		"::ffff:0.0.0.0/96", // the same, dotted
		"::ffff:1.2.3.4/96",
		"0.0.0.0/1, 128.0.0.0/1",              // all of IPv4 in two halves
		"::/1, 8000::/1",                      // all of IPv6 in two halves
		"0.0.0.0/2,64.0.0.0/2,128.0.0.0/1",    // in pieces of different sizes
		"0.0.0.0/1,::ffff:128.0.0.0/97",       // half of it mapped
		"0.0.0.0/4",                           // far broader than any private network
		"2000::/3",                            // all of global unicast IPv6
		"128.0.0.0/1, 10.0.0.0/8, 0.0.0.0/1 ", // in any order
	} {
		_, err := ParseTrustedProxies(in)
		if err == nil || !strings.Contains(err.Error(), "GATEHOUSE_TRUSTED_PROXIES") || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseTrustedProxies(%q): error %v, want one line naming GATEHOUSE_TRUSTED_PROXIES", in, err)
		}
		if _, err := load(t, map[string]string{"GATEHOUSE_TRUSTED_PROXIES": in}); err == nil {
			t.Errorf("GATEHOUSE_TRUSTED_PROXIES=%q was accepted", in)
		}
	}
}

func TestBroadPrivateProxyNetworksAreAccepted(t *testing.T) {
	for _, in := range []string{
		"10.0.0.0/8", "172.16.0.0/12", "100.64.0.0/10", "fc00::/7", "fd00::/8",
		"10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7,::1,127.0.0.1",
		"0.0.0.0/8", // broad, but not everything
	} {
		if _, err := ParseTrustedProxies(in); err != nil {
			t.Errorf("ParseTrustedProxies(%q): %v", in, err)
		}
	}
}

// Prefixes each narrow enough, that together leave no IPv4 address out.
func TestProxiesCoveringEverythingTogetherAreRefused(t *testing.T) {
	var all4, all6, most []string
	for i := range 256 {
		all4 = append(all4, fmt.Sprintf("%d.0.0.0/8", i))
		if i != 200 {
			most = append(most, fmt.Sprintf("%d.0.0.0/8", i))
		}
	}
	for i := range 128 {
		all6 = append(all6, fmt.Sprintf("%x::/7", i<<9))
	}
	for _, in := range [][]string{all4, all6} {
		if _, err := ParseTrustedProxies(strings.Join(in, ",")); err == nil || !strings.Contains(err.Error(), "cover every") {
			t.Errorf("%d prefixes that cover a family: error %v", len(in), err)
		}
	}
	if _, err := ParseTrustedProxies(strings.Join(most, ",")); err != nil {
		t.Errorf("255 of the 256 /8s were refused: %v", err)
	}
}
