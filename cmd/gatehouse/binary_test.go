package main

import (
	"debug/elf"
	"runtime"
	"testing"
)

// TestBinaryKeepsOnlyReachableMethods: nothing in the server finds
// methods by name at run time. A program that can (text/template's
// executor, reflect's MethodByName with a name it computes) makes the
// linker keep every exported method of every type it puts in an
// interface: 27% of the binary, and 2-3 MB of its resident memory (see
// internal/mail/template.go). The first function below is text/template's
// lookup; the second, a Redis command Gatehouse never sends, is kept only
// by such a lookup. (A MethodByName with a constant name, which some
// libraries make, keeps only that name.)
func TestBinaryKeepsOnlyReachableMethods(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the symbols of an ELF binary")
	}
	t.Parallel()
	f, err := elf.Open(buildBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	unwanted := map[string]bool{
		"text/template.(*state).evalField":                               true,
		"github.com/redis/go-redis/v9.(*Client).ZRangeByScoreWithScores": true, // a command Gatehouse never sends
	}
	for _, s := range syms {
		if unwanted[s.Name] {
			t.Errorf("the binary holds %s", s.Name)
		}
	}
}
