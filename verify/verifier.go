package verify

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Limits of the verifier.
const (
	MaxTokenSize = 8 << 10          // longest token accepted, in bytes
	MaxLeeway    = 60 * time.Second // largest clock leeway accepted by New
)

// RevocationChecker reports revoked tokens. It is consulted only for tokens
// whose signature and claims are valid.
type RevocationChecker interface {
	// Revoked reports whether the token jti, or its session sid, has been
	// revoked. It may be called concurrently.
	Revoked(jti, sid string) bool
}

// Config configures a Verifier. Its zero value is not usable: Issuer,
// Algorithms and KeySet are required.
type Config struct {
	// Issuer is the required value of iss.
	Issuer string
	// Audience, when set, must be one of the values of aud.
	Audience string
	// Algorithms are the accepted algorithms (ES256, EdDSA, RS256, HS256).
	// Required; never inferred from a token.
	Algorithms []string
	// KeySet finds the key named by a token's kid. When nil, New reads the
	// issuer's discovery document and uses a RemoteKeySet on its jwks_uri.
	KeySet KeySet
	// HTTPClient fetches discovery and keys; a client with a 10 s timeout
	// when nil.
	HTTPClient *http.Client
	// Leeway is the clock skew allowed on exp, nbf and iat: 0 by default,
	// at most MaxLeeway.
	Leeway time.Duration
	// Now returns the current time; time.Now by default.
	Now func() time.Time
	// Revocations, when set, is asked about every otherwise valid token.
	// If it also has a method CheckFresh() error (as RevocationPoller
	// does), a non-nil answer fails every token with ErrRevoked and that
	// error: the list is too stale to vouch for any.
	Revocations RevocationChecker
	// CacheSize bounds the cache of verified tokens (DefaultCacheSize when
	// 0; negative turns it off). The Claims that Verify returns for a
	// cached token are shared: do not modify them.
	CacheSize int
}

// Verifier verifies access tokens. It is safe for concurrent use.
type Verifier struct {
	parser      *jwt.Parser
	keys        KeySet
	revocations RevocationChecker
	freshness   freshnessChecker // revocations, when it implements it
	audience    bool             // an audience is configured
	cache       *tokenCache
	interned    *interner // claim values shared by the cached claims
	now         func() time.Time
	leeway      time.Duration
}

// New checks cfg and returns a Verifier. Without a KeySet it reads the
// issuer's discovery document (under ctx) and fetches keys from its
// jwks_uri as tokens need them.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	if err := checkConfig(cfg); err != nil {
		return nil, err
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	if cfg.KeySet == nil {
		client := cfg.HTTPClient
		if client == nil {
			client = &http.Client{Timeout: 10 * time.Second}
		}
		jwks, err := discover(ctx, client, cfg.Issuer)
		if err != nil {
			return nil, err
		}
		cfg.KeySet = NewRemoteKeySet(jwks, client, now)
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(append([]string(nil), cfg.Algorithms...)),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(now),
		jwt.WithStrictDecoding(),
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	return &Verifier{
		parser:      jwt.NewParser(opts...),
		keys:        cfg.KeySet,
		revocations: cfg.Revocations,
		freshness:   freshnessOf(cfg.Revocations),
		audience:    cfg.Audience != "",
		cache:       cacheFor(cfg.CacheSize),
		interned:    newInterner(),
		now:         now,
		leeway:      cfg.Leeway,
	}, nil
}

// checkConfig reports the first problem of cfg.
func checkConfig(cfg Config) error {
	switch {
	case cfg.Issuer == "":
		return errors.New("verify: Config.Issuer is required")
	case len(cfg.Algorithms) == 0:
		return errors.New("verify: Config.Algorithms is required")
	case cfg.Leeway < 0 || cfg.Leeway > MaxLeeway:
		return fmt.Errorf("verify: Config.Leeway must be between 0 and %v", MaxLeeway)
	}
	for _, alg := range cfg.Algorithms {
		switch alg {
		case ES256, EdDSA, RS256, HS256:
		default:
			return fmt.Errorf("verify: unsupported algorithm %q in Config.Algorithms", alg)
		}
	}
	return nil
}

// Verify checks token (the compact JWS, without "Bearer ") and returns its
// claims. On failure the error matches one or more of the Err* sentinels.
//
// The checks run in this order: size and alphabet; header and payload
// decoding; alg against Config.Algorithms; crit and typ; the key by kid,
// bound to the token's alg; the signature; the claims (all of them, so that
// several sentinels may match); duplicate payload members; and last, for a
// token that passed everything, Config.Revocations.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if c, ok := v.cached(token); ok {
		return v.checkRevoked(c)
	}
	return v.verifyUncached(ctx, token)
}

// verifyUncached is Verify for a token not in the cache.
func (v *Verifier) verifyUncached(ctx context.Context, token string) (*Claims, error) {
	if err := precheck(token); err != nil {
		return nil, err
	}
	st := verification{ctx: ctx, keys: v.keys}
	st.payload.audienceRequired = v.audience
	if _, err := v.parser.ParseWithClaims(token, &st.payload, st.keyFunc); err != nil {
		return nil, classify(err, st.keyFound)
	}
	if err := checkPayloadMembers(token); err != nil {
		return nil, fail(ErrMalformed, err)
	}
	c := st.payload.claims(v.interned)
	if v.cache != nil {
		v.cache.put(token, c)
	}
	return v.checkRevoked(c)
}

// freshnessChecker is a RevocationChecker that can tell when its list is
// too stale to vouch for any token (RevocationPoller with MaxStaleness).
type freshnessChecker interface {
	CheckFresh() error
}

func freshnessOf(rc RevocationChecker) freshnessChecker {
	f, _ := rc.(freshnessChecker)
	return f
}

func (v *Verifier) checkRevoked(c *Claims) (*Claims, error) {
	if v.revocations == nil {
		return c, nil
	}
	if v.freshness != nil {
		if err := v.freshness.CheckFresh(); err != nil {
			return nil, fail(ErrRevoked, err)
		}
	}
	if v.revocations.Revoked(c.ID, c.SessionID) {
		return nil, fail(ErrRevoked, nil)
	}
	return c, nil
}

func cacheFor(size int) *tokenCache {
	switch {
	case size < 0:
		return nil
	case size == 0:
		size = DefaultCacheSize
	}
	return newTokenCache(size)
}

var (
	errAlphabet = errors.New("character outside the base64url alphabet")
	errSegments = errors.New("not three segments")
)

// precheck rejects, before any decoding, a token that is empty, too large,
// or not three segments of the base64url alphabet. Go's base64 decoder
// skips '\r' and '\n' and golang-jwt would accept them.
func precheck(token string) error {
	if token == "" {
		return fail(ErrNoToken, nil)
	}
	if len(token) > MaxTokenSize {
		return fail(ErrTooLarge, nil)
	}
	dots := 0
	for i := 0; i < len(token); i++ {
		c := token[i]
		if c == '.' {
			dots++
		} else if !isBase64URL(c) {
			return fail(ErrMalformed, errAlphabet)
		}
	}
	if dots != 2 {
		return fail(ErrMalformed, errSegments)
	}
	return nil
}

// base64URL marks the bytes of the base64url alphabet.
var base64URL = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") {
		t[c] = true
	}
	return t
}()

func isBase64URL(c byte) bool { return base64URL[c] }

// checkPayloadMembers decodes the payload segment again and rejects
// duplicate members. It runs only after the signature has been verified,
// so the comparison of every pair of names (quadratic, but about 60 pairs
// for a Gatehouse token) is never done on a forged payload.
func checkPayloadMembers(token string) error {
	_, rest, _ := strings.Cut(token, ".")
	seg, _, _ := strings.Cut(rest, ".")
	var buf [1024]byte
	dst := buf[:]
	if n := base64.RawURLEncoding.DecodedLen(len(seg)); n > len(dst) {
		dst = make([]byte, n)
	}
	n, err := base64.RawURLEncoding.Decode(dst, []byte(seg))
	if err != nil {
		return err
	}
	return checkDuplicateMembers(dst[:n])
}

// verification is the state of one Verify call.
type verification struct {
	ctx      context.Context
	keys     KeySet
	keyFound bool
	payload  payload
}

// keyFunc checks the header and returns the key named by kid. golang-jwt
// calls it after checking that alg is one of Config.Algorithms.
func (st *verification) keyFunc(t *jwt.Token) (any, error) {
	if err := checkHeader(t.Header); err != nil {
		return nil, err
	}
	kid, ok := t.Header["kid"].(string)
	if _, present := t.Header["kid"]; present && !ok {
		return nil, fmt.Errorf("%w: kid is not a string", ErrMalformed)
	}
	key, err := st.keys.LookupKey(st.ctx, kid)
	if err != nil {
		if !errors.Is(err, ErrUnknownKey) {
			err = fmt.Errorf("%w: %w", ErrUnknownKey, err)
		}
		return nil, err
	}
	if alg := t.Method.Alg(); alg != key.Algorithm {
		return nil, fmt.Errorf("%w: token alg %s, key alg %s", ErrAlgorithm, alg, truncate(key.Algorithm, 32))
	}
	if err := checkKeyMaterial(key.Algorithm, key.Key); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnknownKey, err)
	}
	st.keyFound = true
	return key.Key, nil
}

// checkHeader rejects crit headers and any typ but at+jwt. The jwk, jku,
// x5u and x5c headers are never read.
func checkHeader(h map[string]any) error {
	if _, ok := h["crit"]; ok {
		return ErrCritical
	}
	typ, _ := h["typ"].(string)
	if !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return ErrTokenType
	}
	return nil
}
