package password

import (
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// ErrBusy is returned, without any hashing done, by a call that could not
// get a hashing slot in time. Test for it with errors.Is: when the context
// ended the wait, the error returned wraps both ErrBusy and the context's
// cause. It is an *auth.Error with code auth.EUnavailable so that even an
// unwrapped ErrBusy reaches the client as a 503.
var ErrBusy = &auth.Error{Code: auth.EUnavailable, Message: "Server busy; try again shortly", RetryAfter: time.Second}

// ErrMalformedHash is wrapped by the errors that [Hasher.Verify] returns for
// a stored hash it cannot parse, that uses an unsupported scheme or version,
// or whose parameters are out of bounds. It is a server-side fault, not the
// client's, so it is deliberately not an *auth.Error.
var ErrMalformedHash = errors.New("password: malformed hash")

// Policy errors, returned by [ValidatePolicy]. Their text is the message to
// show the user; the caller gives them a code (auth.EInvalid).
var (
	ErrTooShort = fmt.Errorf("password must be at least %d characters", MinChars)
	ErrTooLong  = fmt.Errorf("password must be at most %d bytes", MaxBytes)
	ErrCommon   = errors.New("password is too common: choose one that is not on lists of often-used passwords")
)
