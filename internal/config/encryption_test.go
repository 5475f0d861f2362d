package config

import (
	"bytes"
	"strings"
	"testing"
)

const (
	goodKeyHex = "8c1f5e0a9b3d72e64f18a0c5d7b2e9413a6f0d8c2b5e7a9104f6c3d8e1b7a2f5"
	goodKeyB64 = "nQW2x0Zf8kE1y3pLr6T4uVbA7cD9eGhIjKmNoPqRsUw="
)

func TestEncryptionKeys(t *testing.T) {
	c, err := load(t, map[string]string{
		"GATEHOUSE_ENCRYPTION_KEY":     goodKeyHex,
		"GATEHOUSE_ENCRYPTION_KEY_OLD": goodKeyB64 + ", " + strings.ToUpper(goodKeyHex),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.EncryptionKey) != 32 || len(c.EncryptionKeysOld) != 2 || !bytes.Equal(c.EncryptionKey, c.EncryptionKeysOld[1]) {
		t.Fatalf("keys %x %x", c.EncryptionKey, c.EncryptionKeysOld)
	}
	s, err := c.Sealer()
	if err != nil || s == nil {
		t.Fatalf("Sealer: %v, %v", s, err)
	}
	if c, err := load(t, nil); err != nil || c.EncryptionKey != nil {
		t.Fatalf("unset: %x, %v", c.EncryptionKey, err)
	} else if s, _ := c.Sealer(); s != nil {
		t.Fatal("a sealer without a key")
	}
}

func TestEncryptionKeyRefused(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"short":          {"GATEHOUSE_ENCRYPTION_KEY": goodKeyHex[:32]},
		"text":           {"GATEHOUSE_ENCRYPTION_KEY": "my encryption key, change me!!!!"},
		"repeated":       {"GATEHOUSE_ENCRYPTION_KEY": strings.Repeat("00", 32)},
		"bad old key":    {"GATEHOUSE_ENCRYPTION_KEY": goodKeyHex, "GATEHOUSE_ENCRYPTION_KEY_OLD": goodKeyB64 + ",abcd"},
		"old without it": {"GATEHOUSE_ENCRYPTION_KEY_OLD": goodKeyB64},
	} {
		_, err := load(t, env)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		msg := err.Error()
		if strings.Count(msg, "\n") != 0 || !strings.Contains(msg, "GATEHOUSE_ENCRYPTION_KEY") {
			t.Errorf("%s: %q is not one line naming the variable", name, msg)
		}
		for _, v := range env {
			if len(v) > 8 && strings.Contains(msg, v) {
				t.Errorf("%s: the message repeats the key", name)
			}
		}
		if name != "old without it" && !strings.Contains(msg, "openssl rand -hex 32") {
			t.Errorf("%s: %q does not say how to make a key", name, msg)
		}
	}
}
