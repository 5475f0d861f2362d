package verify

import "testing"

// BenchmarkBearerToken extracts the token of an ES256 access token's
// Authorization header, which every authenticated request does.
func BenchmarkBearerToken(b *testing.B) {
	h := "Bearer " + good(ES256)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BearerToken(h); err != nil {
			b.Fatal(err)
		}
	}
}
