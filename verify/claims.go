package verify

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims are the claims of a verified Gatehouse access token.
type Claims struct {
	Issuer    string    // iss
	Subject   string    // sub: the user id
	Audience  []string  // aud (a JSON string or array); nil when absent
	ExpiresAt time.Time // exp
	IssuedAt  time.Time // iat; zero when absent
	NotBefore time.Time // nbf; zero when absent
	ID        string    // jti: unique per token
	SessionID string    // sid: the login session
	Type      string    // type: always "access"
	Username  string    // username
	Role      string    // role
	// AuthTime is when the user authenticated to start the token's
	// session (auth_time); zero when absent.
	AuthTime time.Time
	// AMR lists how (amr, RFC 8176 values such as "pwd", "otp", "mfa",
	// "fed"); fixed for the session's whole life. A service that needs a
	// second factor checks HasMethod("mfa").
	AMR []string
}

// HasMethod reports whether the token's session was authenticated with the
// RFC 8176 method m (for example "mfa").
func (c *Claims) HasMethod(m string) bool {
	for _, x := range c.AMR {
		if x == m {
			return true
		}
	}
	return false
}

// accessType is the only accepted value of the "type" claim.
const accessType = "access"

// payload is the wire form of the claims; it implements jwt.Claims and
// jwt.ClaimsValidator so that golang-jwt decodes and checks it without a map.
type payload struct {
	Issuer    string      `json:"iss"`
	Subject   string      `json:"sub"`
	Audience  audience    `json:"aud"`
	ExpiresAt numericDate `json:"exp"`
	IssuedAt  numericDate `json:"iat"`
	NotBefore numericDate `json:"nbf"`
	ID        string      `json:"jti"`
	SessionID string      `json:"sid"`
	Type      string      `json:"type"`
	Username  string      `json:"username"`
	Role      string      `json:"role"`
	AuthTime  numericDate `json:"auth_time"`
	AMR       []string    `json:"amr"`

	audienceRequired bool
}

var _ jwt.ClaimsValidator = (*payload)(nil)

// GetExpirationTime implements jwt.Claims.
func (p *payload) GetExpirationTime() (*jwt.NumericDate, error) { return p.ExpiresAt.get(), nil }

// GetIssuedAt implements jwt.Claims.
func (p *payload) GetIssuedAt() (*jwt.NumericDate, error) { return p.IssuedAt.get(), nil }

// GetNotBefore implements jwt.Claims.
func (p *payload) GetNotBefore() (*jwt.NumericDate, error) { return p.NotBefore.get(), nil }

// GetIssuer implements jwt.Claims.
func (p *payload) GetIssuer() (string, error) { return p.Issuer, nil }

// GetSubject implements jwt.Claims.
func (p *payload) GetSubject() (string, error) { return p.Subject, nil }

// GetAudience implements jwt.Claims.
func (p *payload) GetAudience() (jwt.ClaimStrings, error) { return jwt.ClaimStrings(p.Audience), nil }

// Validate implements jwt.ClaimsValidator: the checks golang-jwt does not
// make. golang-jwt calls it after the signature has been verified and joins
// its error with its own.
func (p *payload) Validate() error {
	var errs []error
	if p.Type != accessType {
		errs = append(errs, ErrTokenType)
	}
	if p.Subject == "" || p.ID == "" || p.SessionID == "" {
		errs = append(errs, ErrMalformed)
	}
	if p.Issuer == "" {
		errs = append(errs, ErrIssuer)
	}
	if p.audienceRequired && len(p.Audience) == 0 {
		errs = append(errs, ErrAudience)
	}
	if len(errs) == 0 {
		return nil
	}
	return &verifyError{kinds: errs}
}

// claims converts the verified payload. The values that repeat from token
// to token come from in; the token's own strings share one allocation.
func (p *payload) claims(in *interner) *Claims {
	own := p.Subject + p.ID + p.SessionID + p.Username
	cut := func(n int) string {
		s := own[:n]
		own = own[n:]
		return s
	}
	return &Claims{
		Issuer:    in.str(p.Issuer),
		Subject:   cut(len(p.Subject)),
		Audience:  in.list(p.Audience),
		ExpiresAt: p.ExpiresAt.d.Time,
		IssuedAt:  p.IssuedAt.d.Time,
		NotBefore: p.NotBefore.d.Time,
		ID:        cut(len(p.ID)),
		SessionID: cut(len(p.SessionID)),
		Type:      in.str(p.Type),
		Username:  cut(len(p.Username)),
		Role:      in.str(p.Role),
		AuthTime:  p.AuthTime.d.Time,
		AMR:       in.list(p.AMR),
	}
}

// interner keeps one copy of the claim values that repeat from token to
// token (issuer, type, role, audience, methods), so that the claims of
// the many tokens a cache holds share them. It keeps at most maxInterned
// values of each kind and hands back the others as they are.
type interner struct {
	mu    sync.Mutex
	strs  map[string]string
	lists map[string][]string
}

const maxInterned = 256

func newInterner() *interner {
	return &interner{strs: map[string]string{}, lists: map[string][]string{}}
}

func (in *interner) str(s string) string {
	in.mu.Lock()
	defer in.mu.Unlock()
	if v, ok := in.strs[s]; ok {
		return v
	}
	if len(in.strs) < maxInterned {
		in.strs[s] = s
	}
	return s
}

// list interns a list of strings, nil and empty as they are. The lists
// are shared: like the claims they are part of, nothing may change them.
func (in *interner) list(l []string) []string {
	if len(l) == 0 {
		return l
	}
	key := strings.Join(l, "\x00")
	in.mu.Lock()
	defer in.mu.Unlock()
	if v, ok := in.lists[key]; ok && slices.Equal(v, l) {
		return v
	}
	if len(in.lists) < maxInterned {
		in.lists[key] = l
	}
	return l
}

// maxNumericDate is 9999-12-31T23:59:59Z; larger dates are malformed.
const maxNumericDate = 253402300799

var errBadDate = errors.New("verify: a date claim must be a number of seconds between 0 and 253402300799")

// numericDate is a JSON NumericDate (RFC 7519), decoded without the extra
// json.Unmarshal calls that jwt.NumericDate makes.
type numericDate struct {
	d   jwt.NumericDate
	set bool
}

// get returns the date, or nil when the claim is absent.
func (n *numericDate) get() *jwt.NumericDate {
	if !n.set {
		return nil
	}
	return &n.d
}

// UnmarshalJSON accepts a JSON number; null means absent.
func (n *numericDate) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	sec, nsec, ok := parseSeconds(b)
	if !ok {
		return errBadDate
	}
	n.d.Time, n.set = time.Unix(sec, nsec).UTC(), true
	return nil
}

// parseSeconds parses a non-negative JSON number of seconds.
func parseSeconds(b []byte) (sec, nsec int64, ok bool) {
	if len(b) == 0 || b[0] < '0' || b[0] > '9' {
		return 0, 0, false
	}
	if len(b) <= 12 { // fast path: a plain integer
		for _, c := range b {
			if c < '0' || c > '9' {
				return parseFloatSeconds(b)
			}
			sec = sec*10 + int64(c-'0')
		}
		return sec, 0, sec <= maxNumericDate
	}
	return parseFloatSeconds(b)
}

// parseFloatSeconds parses a number with a fraction or an exponent.
func parseFloatSeconds(b []byte) (sec, nsec int64, ok bool) {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f < 0 || f > maxNumericDate {
		return 0, 0, false
	}
	whole, frac := math.Modf(f)
	return int64(whole), int64(frac * 1e9), true
}

var errBadAudience = errors.New("verify: aud must be a string or an array of strings")

// audience is the aud claim: a JSON string or an array of strings.
type audience []string

// UnmarshalJSON accepts a string, an array of strings, or null.
func (a *audience) UnmarshalJSON(b []byte) error {
	if len(b) == 0 {
		return errBadAudience
	}
	switch b[0] {
	case 'n':
		return nil
	case '"':
		s, err := unquote(b)
		if err != nil {
			return errBadAudience
		}
		*a = audience{s}
		return nil
	case '[':
		var list []string
		if err := json.Unmarshal(b, &list); err != nil {
			return errBadAudience
		}
		*a = list
		return nil
	}
	return errBadAudience
}

// unquote decodes a JSON string literal, quickly when it has no escape.
func unquote(b []byte) (string, error) {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		inner := b[1 : len(b)-1]
		if !containsEscapeOrControl(inner) {
			return string(inner), nil
		}
	}
	var s string
	err := json.Unmarshal(b, &s)
	return s, err
}

// containsEscapeOrControl reports whether a string body needs full decoding.
func containsEscapeOrControl(b []byte) bool {
	for _, c := range b {
		if c == '\\' || c == '"' || c < 0x20 || c >= 0x80 {
			return true
		}
	}
	return false
}
