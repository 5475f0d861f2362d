package sqlstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
)

// sqliteCompanions are the files SQLite keeps beside a database: the
// write-ahead log and its shared-memory index (WAL mode), and the rollback
// journal (left behind by a crash before WAL mode was set).
var sqliteCompanions = []string{"-wal", "-shm", "-journal"}

// prepareSQLiteFile makes sure that only the owner can reach the database:
// it holds the signing keys, the password hashes and the refresh-token
// hashes. A missing file is created with mode 0600 whatever the umask;
// SQLite creates the -wal and -shm files with the database file's mode
// (unixOpen and unixOpenSharedMemory copy it and fchmod past the umask;
// modernc.org/sqlite is that C code, translated), so they are owner-only
// too, as TestSQLiteFilesAreOwnerOnly checks. An existing file, or
// companion, that group or others may access is refused, as PostgreSQL
// refuses such a data directory, unless allowShared.
func prepareSQLiteFile(path string, allowShared bool) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		return f.Close()
	}
	if !errors.Is(err, fs.ErrExist) {
		// A missing directory or a denied one: SQLite fails the same way
		// at the first use, reported as unavailable (Open does not
		// connect), and serve and every command stop there, at Migrate.
		return nil
	}
	if allowShared || runtime.GOOS == "windows" { // no Unix modes there
		return nil
	}
	for _, p := range append([]string{path}, companionPaths(path)...) {
		if err := checkOwnerOnly(p); err != nil {
			return err
		}
	}
	return nil
}

func companionPaths(path string) []string {
	out := make([]string, len(sqliteCompanions))
	for i, s := range sqliteCompanions {
		out[i] = path + s
	}
	return out
}

// checkOwnerOnly refuses a file that group or others may read or write; a
// missing one is fine.
func checkOwnerOnly(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("sqlstore: %w", err)
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		// The setting's name is here so that the line says the way out.
		return fmt.Errorf("sqlstore: %s is mode %#o, open to other users, and it holds the signing keys and password hashes: "+
			"run chmod 600 %s*, or set GATEHOUSE_SQLITE_ALLOW_SHARED_FILE=true to accept it", path, m, path)
	}
	return nil
}
