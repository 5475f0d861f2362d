package totp

import (
	"context"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestOathtool checks Code against Debian's oathtool for random secrets
// (of lengths below, at and above SHA-1's 64-byte block) and times.
func TestOathtool(t *testing.T) {
	t.Parallel()
	tool, err := exec.LookPath("oathtool")
	if err != nil {
		t.Skip("oathtool is not installed (apt-get install oathtool): ", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, n := range []int{10, 20, 32, 64, 100} {
		secret := make([]byte, n)
		for i := range secret {
			secret[i] = byte(rand.IntN(256))
		}
		for range 2 {
			at := time.Unix(rand.Int64N(4_000_000_000), 0)
			out, err := exec.CommandContext(ctx, tool, "--totp", "-b", "-N", "@"+strconv.FormatInt(at.Unix(), 10), Encode(secret)).CombinedOutput()
			if err != nil {
				t.Fatalf("oathtool: %v: %s", err, out)
			}
			if got, want := Code(secret, StepAt(at)), strings.TrimSpace(string(out)); got != want {
				t.Errorf("secret %s at %d: Code = %s, oathtool says %s", Encode(secret), at.Unix(), got, want)
			}
		}
	}
}
