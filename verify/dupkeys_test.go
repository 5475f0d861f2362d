package verify

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
)

func TestCheckDuplicateMembers(t *testing.T) {
	tests := []struct {
		json string
		dup  bool
	}{
		{`{}`, false},
		{` { "a" : 1 , "b" : [ {"a":1} ] } `, false},
		{`{"a":1,"A":2}`, true},
		{`{"a":{"b":1,"b":2}}`, false},
		{`{"a":"\"b\":1,\"a\":2"}`, false},
		{`{"a\"":1,"a":2}`, false},
		{`{"ab":1,"a\u0062":2}`, true},
		{`{"\u212a":1,"k":2}`, true}, // KELVIN SIGN folds to k
		{`{"s":1,"ſ":2}`, true},      // LATIN SMALL LETTER LONG S folds to s
		{`{"é":1,"É":2}`, true},
		{`{"a":[1,{"x":"]}"}],"a":2}`, true},
		{`{"x":1,"y":2,"z":3,"w":4,"v":5,"u":6,"t":7,"s":8,"r":9,"q":10,"p":11,"o":12,"n":13,"m":14,"l":15,"k":16,"j":17,"X":18}`, true},
		{`[]`, true}, // not an object: refused
	}
	for _, tt := range tests {
		if got := checkDuplicateMembers([]byte(tt.json)) != nil; got != tt.dup {
			t.Errorf("%s: duplicate %v, want %v", tt.json, got, tt.dup)
		}
		if ref, ok := referenceDuplicate([]byte(tt.json)); ok && ref != tt.dup {
			t.Errorf("%s: the reference says %v", tt.json, ref)
		}
	}
}

// referenceDuplicate finds duplicate top-level names with encoding/json's
// own tokenizer; ok is false when data is not a JSON object.
func referenceDuplicate(data []byte) (dup, ok bool) {
	if !json.Valid(data) {
		return false, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false, false
	}
	var names [][]byte
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false, false
		}
		name := []byte(tok.(string))
		for _, n := range names {
			if bytes.EqualFold(n, name) {
				dup = true
			}
		}
		names = append(names, name)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return false, false
		}
	}
	_, err := dec.Token()
	_, eof := dec.Token()
	return dup, err == nil && eof == io.EOF
}

// FuzzCheckDuplicateMembers compares the fast scanner with the reference
// on valid JSON objects, and checks that it never panics on anything.
func FuzzCheckDuplicateMembers(f *testing.F) {
	for _, s := range []string{`{"a":1,"A":2}`, `{"a":{"a":1}}`, `{"a\u0041":1,"aa":2}`, `{"x":"\\","y":["}"]}`, `{`, `"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got := checkDuplicateMembers(data) != nil
		if want, ok := referenceDuplicate(data); ok && got != want {
			t.Fatalf("%q: scanner says duplicate=%v, encoding/json says %v", data, got, want)
		}
	})
}
