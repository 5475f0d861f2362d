package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 1 << 20

var jsonType = shared("application/json")

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"detail":"Internal server error"}`, http.StatusInternalServerError)
		return
	}
	writeBody(w, status, body)
}

// writeBody writes a JSON body encoded beforehand.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header()["Content-Type"] = jsonType
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// decodeJSON reads one JSON object into dst, which must be a pointer to a
// struct. Bad JSON is 422 with a detail that names the problem; a body over
// MaxBodyBytes is 413. Members are matched strictly (see checkMembers):
// encoding/json alone would let {"role":"user","ROLE":"admin"} through as
// admin.
func decodeJSON(r *http.Request, dst any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return decodeError(err)
	}
	if err := checkMembers(body, dst); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	err = dec.Decode(dst)
	if err == nil && dec.More() {
		err = errors.New("trailing data")
	}
	if err == nil {
		return nil
	}
	return decodeError(err)
}

func decodeError(err error) error {
	var (
		tooBig  *http.MaxBytesError
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooBig):
		return &auth.Error{Code: auth.ETooLarge, Message: fmt.Sprintf("Request body is larger than %d bytes", MaxBodyBytes)}
	case errors.Is(err, io.EOF):
		return auth.Errorf(auth.EInvalid, "Request body is empty: expected a JSON object")
	case errors.As(err, &syntax):
		return auth.Errorf(auth.EInvalid, "Invalid JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return auth.Errorf(auth.EInvalid, "Request body must be a JSON object")
		}
		return auth.Errorf(auth.EInvalid, "Field %q must be a %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return auth.Errorf(auth.EInvalid, "Invalid JSON: unexpected end of input")
	}
	return auth.Wrap(auth.EInvalid, err, "Invalid JSON: "+err.Error())
}

func jsonKind(goKind string) string {
	switch {
	case goKind == "string" || goKind == "ptr":
		return "string"
	case goKind == "bool":
		return "boolean"
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "float"):
		return "number"
	}
	return goKind
}

// field is one named, required value of a request.
type field struct {
	name  string
	value *string
}

// require returns a 422 naming the first missing field.
func require(fields ...field) error {
	for _, f := range fields {
		if f.value == nil {
			return auth.Errorf(auth.EInvalid, "Field required: %s", f.name)
		}
	}
	return nil
}

// decodeValid is decodeJSON followed by the body's own check of its
// required fields.
func decodeValid(r *http.Request, body interface{ validate() error }) error {
	if err := decodeJSON(r, body); err != nil {
		return err
	}
	return body.validate()
}

// nullable is a JSON member that may be absent (Set false), null (Set,
// Value nil) or a value: PATCH tells "leave it" from "remove it".
type nullable[T any] struct {
	Set   bool
	Value *T
}

// UnmarshalJSON records that the member was present, null or not.
func (n *nullable[T]) UnmarshalJSON(b []byte) error {
	n.Set = true
	if string(b) == "null" {
		n.Value = nil
		return nil
	}
	n.Value = new(T)
	return json.Unmarshal(b, n.Value)
}
