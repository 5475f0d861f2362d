package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// checkMembers refuses, with 422, a JSON object body that names a member
// twice (compared without regard to case, as encoding/json matches them)
// or spells a known member in another case: either would let one client
// smuggle a value past what another part of the stack saw. Members that
// dst does not know are ignored, as FastAPI ignores them, so that clients
// can evolve. Anything that is not an object is left to the decoder.
func checkMembers(body []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil
	}
	known := fieldNames(reflect.TypeOf(dst))
	seen := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil // malformed: the decoder names the problem
		}
		name, _ := tok.(string)
		folded := strings.ToLower(name)
		if first, dup := seen[folded]; dup {
			return auth.Errorf(auth.EInvalid, "Member %q appears more than once (as %q)", first, name)
		}
		seen[folded] = name
		if want, ok := known[folded]; ok && want != name {
			return auth.Errorf(auth.EInvalid, "Member %q must be spelled %q", name, want)
		}
		if err := skipValue(dec); err != nil {
			return nil
		}
	}
	return nil
}

// skipValue reads one JSON value, however nested.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

var fieldCache sync.Map // reflect.Type → map[string]string

// fieldNames maps the lower-case JSON name of each member of the struct
// that t points to (embedded structs included) to its exact name.
func fieldNames(t reflect.Type) map[string]string {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]string)
	}
	m := map[string]string{}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Struct {
		addFields(t, m)
	}
	fieldCache.Store(t, m)
	return m
}

func addFields(t reflect.Type, m map[string]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			addFields(f.Type, m)
			continue
		}
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[strings.ToLower(name)] = name
	}
}
