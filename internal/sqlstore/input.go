package sqlstore

import (
	"slices"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// PostgreSQL refuses text with a NUL byte or invalid UTF-8 (SQLSTATE
// 22021) where SQLite keeps it. So that both backends answer hostile input
// alike, and before any statement runs, a store method checks its text:
// a lookup by a key that no store can hold matches nothing (ENotFound, or
// an empty result), and a write of such text is EInvalid. Callers should
// have refused the input already (internal/auth's validators); this is the
// floor under them.

// unstorable reports whether any of ss is text that a store cannot keep.
func unstorable(ss ...string) bool {
	return slices.ContainsFunc(ss, func(s string) bool { return !auth.StorableText(s) })
}

// errUnstorable is a write of text that a store cannot keep.
func errUnstorable() error { return auth.Errorf(auth.EInvalid, errInvalidText) }

// errNoMatch is the answer of o to a lookup key that no row can have.
func errNoMatch(o op) error {
	return auth.Errorf(auth.ENotFound, "%s", orDefault(o.notFound, "Not found"))
}

// nullText is the text p points to, or "" for nil.
func nullText[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}
