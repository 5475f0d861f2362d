package auth

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies an Error. The HTTP layer maps each code to one status in
// one table; anything that is not an *Error is an internal failure.
type Code string

// The error codes. Keep this list short: each one is a distinct answer that
// a client can act on.
const (
	EInvalid         Code = "invalid"         // the request is malformed or breaks a rule (422)
	ENotFound        Code = "not_found"       // the thing does not exist (404)
	EConflict        Code = "conflict"        // it exists already (409)
	EUnauthenticated Code = "unauthenticated" // no valid credentials (401)
	EForbidden       Code = "forbidden"       // valid credentials, not allowed (403)
	EInactive        Code = "inactive"        // right password, disabled user (400)
	EBadRequest      Code = "bad_request"     // well-formed, but cannot be carried out: a used or expired link token (400)
	EUnavailable     Code = "unavailable"     // a dependency or capacity is missing; try again (503)
	ETooMany         Code = "too_many"        // throttled (429)
	ETooLarge        Code = "too_large"       // the request body is over the limit (413)
	EInternal        Code = "internal"        // a bug or an unexpected failure (500)
)

// Error is a domain error: a code, a message that is safe to show to the
// client, and optionally the underlying cause (which is logged, never shown).
type Error struct {
	Code    Code
	Message string
	// Reason, when set, is the machine-readable word a client sees
	// instead of Code ("invalid_mfa_code", "email_taken"): it refines
	// the code, whose status stays.
	Reason string
	Err    error
	// RetryAfter, when set on EUnavailable or ETooMany, tells the client
	// when to try again.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted, client-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Reasonf returns an *Error with a reason that refines code.
func Reasonf(code Code, reason, format string, args ...any) *Error {
	return &Error{Code: code, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// ErrorReason returns the reason of the first *Error in err's chain, or
// its code when it has none, or EInternal.
func ErrorReason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		if e.Reason != "" {
			return e.Reason
		}
		return string(e.Code)
	}
	return string(EInternal)
}

// Wrap returns an *Error that carries cause for the logs.
func Wrap(code Code, cause error, msg string) *Error {
	return &Error{Code: code, Message: msg, Err: cause}
}

// ErrorCode returns the code of the first *Error in err's chain, or EInternal.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the client-safe message of the first *Error in err's
// chain, or a generic message for anything else.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal server error"
}
