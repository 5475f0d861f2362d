package config

import (
	"strings"
	"testing"
)

func TestRevocationsToken(t *testing.T) {
	c, err := load(t, nil)
	if err != nil || c.RevocationsToken != "" {
		t.Fatalf("by default the feed needs no secret: %q, %v", c.RevocationsToken, err)
	}
	c, err = load(t, map[string]string{"GATEHOUSE_REVOCATIONS_TOKEN": goodSecret})
	if err != nil || c.RevocationsToken != goodSecret {
		t.Fatalf("a good secret: %q, %v", c.RevocationsToken, err)
	}
	for name, tc := range map[string]struct{ token, want string }{
		"short":       {"abc123", "shorter than 32"},
		"placeholder": {"your-super-secret-key-change-this-in-production", "placeholder"},
		"repetitive":  {strings.Repeat("ab", 20), "distinct"},
		"a space":     {goodSecret[:20] + " " + goodSecret[20:], "bearer token"},
		"a tab":       {goodSecret[:20] + "\t" + goodSecret[20:], "bearer token"},
		"a quote":     {goodSecret + `"`, "bearer token"},
	} {
		_, err := load(t, map[string]string{"GATEHOUSE_REVOCATIONS_TOKEN": tc.token})
		if err == nil || !strings.Contains(err.Error(), "GATEHOUSE_REVOCATIONS_TOKEN") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming the variable and %q", name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), tc.token) {
			t.Errorf("%s: the error shows the secret: %v", name, err)
		}
	}
}
