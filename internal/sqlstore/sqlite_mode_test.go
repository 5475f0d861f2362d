package sqlstore

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// withUmask runs the test under umask 022, the usual one, under which
// files are created readable by every local user unless asked otherwise.
// Not parallel: the umask is the process's.
func withUmask(t *testing.T, mask int) {
	old := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(old) })
}

// The database file holds the signing keys, password hashes and token
// hashes: it and its -wal and -shm files are created for the owner only,
// whatever the umask.
func TestSQLiteFilesAreOwnerOnly(t *testing.T) {
	withUmask(t, 0o022)
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s := openMigrated(t, "sqlite:"+path)
	ctx := context.Background()
	if _, err := s.w.ExecContext(ctx, "CREATE TABLE mode_probe (x INTEGER); INSERT INTO mode_probe VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM mode_probe").Scan(&n); err != nil || n != 1 {
		t.Fatalf("read back: %d, %v", n, err)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatalf("%s after writes: %v", f, err)
		}
		if m := fi.Mode().Perm(); m&0o077 != 0 {
			t.Errorf("%s is mode %v under umask 022, want no access for group and others", filepath.Base(f), m)
		}
	}
	s.Close()
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("after close: %v, %v", fi.Mode(), err)
	}
	// Reopened, it is still accepted.
	openMigrated(t, "sqlite:"+path).Close()
}

// An existing database that others can read is refused, as PostgreSQL
// refuses a data directory with group or world access, unless allowed.
func TestSQLiteSharedFileIsRefused(t *testing.T) {
	withUmask(t, 0o022)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o620} {
			path := filepath.Join(t.TempDir(), "gatehouse.db")
			openMigrated(t, "sqlite:"+path).Close()
			f := path + suffix
			if suffix != "" { // closed cleanly, SQLite removed them
				if err := os.WriteFile(f, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chmod(f, mode); err != nil {
				t.Fatal(err)
			}
			_, err := Open(context.Background(), "sqlite:"+path, Options{})
			if err == nil || !strings.Contains(err.Error(), "chmod 600") || !strings.Contains(err.Error(), "GATEHOUSE_SQLITE_ALLOW_SHARED_FILE") ||
				!strings.Contains(err.Error(), filepath.Base(f)) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%s mode %v: error %v, want one line naming the file, chmod 600 and the setting", filepath.Base(f), mode, err)
			}
			s, err := Open(context.Background(), "sqlite:"+path, Options{InsecureAllowSharedFile: true})
			if err != nil {
				t.Fatalf("%s mode %v, allowed: %v", filepath.Base(f), mode, err)
			}
			s.Close()
		}
	}
}
