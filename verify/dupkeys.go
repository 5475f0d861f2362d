package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

var errDuplicateClaim = errors.New("verify: duplicate claim in payload")

// memberName locates a top-level member name of the payload: the bytes
// between its quotes, p[start:end]. A name that is not plain (it has an
// escape or a non-ASCII byte) is decoded before it is compared. Offsets
// rather than slices keep the payload buffer on the caller's stack.
type memberName struct {
	start, end int
	plain      bool   // ASCII without escapes: p[start:end] is the name
	decoded    []byte // the decoded name, once needed
}

// checkDuplicateMembers rejects a JSON object with two top-level members
// whose names are equal ignoring case, after unescaping. encoding/json
// matches struct fields with bytes.EqualFold and keeps the last value, so
// {"role":"user","ROLE":"admin"} would otherwise read as admin while another
// parser reads user. obj has already been validated by encoding/json.
func checkDuplicateMembers(obj []byte) error {
	var buf [16]memberName
	names, ok := topLevelNames(obj, buf[:0])
	if !ok {
		return errDuplicateClaim // not an object: cannot happen after json.Unmarshal
	}
	for i := range names {
		for j := i + 1; j < len(names); j++ {
			if sameName(obj, &names[i], &names[j]) {
				return errDuplicateClaim
			}
		}
	}
	return nil
}

// sameName reports whether two member names match the same struct field.
func sameName(p []byte, a, b *memberName) bool {
	if a.plain && b.plain {
		return a.end-a.start == b.end-b.start && bytes.EqualFold(p[a.start:a.end], p[b.start:b.end])
	}
	return bytes.EqualFold(decodeName(p, a), decodeName(p, b))
}

// decodeName decodes a name as encoding/json does (escapes, and invalid
// UTF-8 as U+FFFD), once. Rare: Gatehouse writes only plain names.
func decodeName(p []byte, n *memberName) []byte {
	raw := p[n.start:n.end]
	if n.plain {
		return raw
	}
	if n.decoded == nil {
		quoted := make([]byte, 0, len(raw)+2)
		quoted = append(append(append(quoted, '"'), raw...), '"')
		var s string
		if json.Unmarshal(quoted, &s) != nil {
			s = string(raw)
		}
		n.decoded = append([]byte{}, s...)
	}
	return n.decoded
}

// topLevelNames appends the member names of the object in p to names. It
// assumes valid JSON but never reads out of bounds on any input.
func topLevelNames(p []byte, names []memberName) ([]memberName, bool) {
	i := skipSpace(p, 0)
	if i >= len(p) || p[i] != '{' {
		return names, false
	}
	i++
	for {
		i = skipSpace(p, i)
		if i >= len(p) {
			return names, false
		}
		switch p[i] {
		case '}':
			return names, true
		case ',':
			i++
			continue
		case '"':
		default:
			return names, false
		}
		end, escaped := scanString(p, i)
		if end > len(p) {
			return names, false
		}
		names = append(names, memberName{start: i + 1, end: end - 1, plain: !escaped})
		i = skipValue(p, end)
	}
}

// scanString returns the index just past the string literal that starts at
// p[i] (a quote), and whether it contains an escape or a non-ASCII byte.
func scanString(p []byte, i int) (end int, escaped bool) {
	for i++; i < len(p); i++ {
		switch c := p[i]; {
		case c == '\\':
			escaped = true
			i++
		case c == '"':
			return i + 1, escaped
		case c >= utf8.RuneSelf:
			escaped = true
		}
	}
	return len(p) + 1, escaped
}

// skipValue skips a ':' and the member value after it, returning the index
// of the ',' or '}' that follows (or len(p)).
func skipValue(p []byte, i int) int {
	depth := 0
	for i < len(p) {
		switch p[i] {
		case '"':
			i, _ = scanString(p, i)
			continue
		case '{', '[':
			depth++
		case ']':
			depth--
		case '}':
			if depth == 0 {
				return i
			}
			depth--
		case ',':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return i
}

func skipSpace(p []byte, i int) int {
	for i < len(p) && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r') {
		i++
	}
	return i
}
