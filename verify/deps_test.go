package verify

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports keeps the package importable by any service: no Gatehouse
// internals, no database or cache client.
func TestImports(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	forbidden := []string{
		"github.com/gatehouse/gatehouse/internal/",
		"database/sql",
		"modernc.org/sqlite", "github.com/mattn/go-sqlite3",
		"github.com/jackc/", "github.com/lib/pq",
		"github.com/redis/", "github.com/go-redis/",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.HasPrefix(dep, f) {
				t.Errorf("verify depends on %s", dep)
			}
		}
	}
}
