package main

import (
	"debug/elf"
	"runtime"
	"testing"
)

// TestBinaryIsStaticAndKeepsOnlyReachableMethods: built as the README
// says, the binary is static (no interpreter, no shared library), and
// nothing in the server finds
// methods by name at run time. A program that can (text/template's
// executor, reflect's MethodByName with a name it computes) makes the
// linker keep every exported method of every type it puts in an
// interface: 27% of the binary, and 2-3 MB of its resident memory (see
// internal/mail/template.go). The first function below is text/template's
// lookup; the second, a Redis command Gatehouse never sends, is kept only
// by such a lookup. (A MethodByName with a constant name, which some
// libraries make, keeps only that name.)
func TestBinaryIsStaticAndKeepsOnlyReachableMethods(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the symbols of an ELF binary")
	}
	t.Parallel()
	f, err := elf.Open(buildBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary names an interpreter: it is linked dynamically")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v (%v)", libs, err)
	}
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
