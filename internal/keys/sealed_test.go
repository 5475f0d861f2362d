package keys

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
	"github.com/gatehouse/gatehouse/verify"
)

// sealedDB is a SQLite database that tests open both through the store and
// raw, to see what is really stored.
type sealedDB struct {
	t    *testing.T
	path string
	st   auth.KeyStore
	raw  *sql.DB
}

func newSealedDB(t *testing.T) *sealedDB {
	path := filepath.Join(t.TempDir(), "keys.db")
	st, err := sqlstore.Open(context.Background(), "sqlite:"+path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return &sealedDB{t: t, path: path, st: st, raw: raw}
}

// rows returns the stored private_key of every key, by kid.
func (d *sealedDB) rows() map[string][]byte {
	rows, err := d.raw.Query(`SELECT id, private_key FROM signing_keys`)
	if err != nil {
		d.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var id string
		var pk []byte
		if err := rows.Scan(&id, &pk); err != nil {
			d.t.Fatal(err)
		}
		out[id] = pk
	}
	return out
}

func (d *sealedDB) set(kid string, pk []byte) {
	if _, err := d.raw.Exec(`UPDATE signing_keys SET private_key = ? WHERE id = ?`, pk, kid); err != nil {
		d.t.Fatal(err)
	}
}

func randomKey(t *testing.T) []byte {
	k := make([]byte, seal.KeySize)
	rand.Read(k)
	return k
}

func sealer(t *testing.T, primary []byte, old ...[]byte) *seal.Sealer {
	s, err := seal.New(primary, old...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openManager(st auth.KeyStore, alg string, s *seal.Sealer, c *clock) (*Manager, error) {
	m := New(Options{Algorithm: alg, Store: st, AccessTTL: 10 * time.Minute, PublishDelay: 5 * time.Minute, Now: c.Now, Sealer: s})
	return m, m.Init(context.Background())
}

func mustManager(t *testing.T, st auth.KeyStore, alg string, s *seal.Sealer, c *clock) *Manager {
	t.Helper()
	m, err := openManager(st, alg, s, c)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// wantNoKeyMaterial fails if a stored row holds PKCS #8 DER or the private
// scalar of the key it opens to.
func wantNoKeyMaterial(t *testing.T, rows map[string][]byte, s *seal.Sealer) {
	t.Helper()
	if len(rows) == 0 {
		t.Fatal("no keys stored")
	}
	for kid, pk := range rows {
		if _, err := x509.ParsePKCS8PrivateKey(pk); err == nil || !seal.IsSealed(pk) {
			t.Fatalf("key %s is stored in the clear", kid)
		}
		der, err := s.Open([]byte(kid), pk)
		if err != nil {
			t.Fatalf("key %s: %v", kid, err)
		}
		priv, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			t.Fatal(err)
		}
		d, err := priv.(*ecdsa.PrivateKey).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(pk, der[:16]) || bytes.Contains(pk, d) || bytes.Contains(pk, []byte{0x02, 0x01, 0x00, 0x30}) {
			t.Fatalf("key %s: the stored row holds key material", kid)
		}
	}
}

func TestSealedKeysHoldNoKeyMaterialAtRest(t *testing.T) {
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	db := newSealedDB(t)
	s := sealer(t, randomKey(t))
	m := mustManager(t, db.st, "ES256", s, c)
	for range 2 {
		if _, err := m.Rotate(context.Background(), auth.Origin{}); err != nil {
			t.Fatal(err)
		}
	}
	if rows := db.rows(); len(rows) != 3 {
		t.Fatalf("%d keys stored, want 3", len(rows))
	}
	wantNoKeyMaterial(t, db.rows(), s)

	// The keys sign and verify as usual.
	v, err := verify.New(context.Background(), verify.Config{Issuer: "http://iss", Algorithms: []string{"ES256"}, KeySet: m, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), sign(t, m, c)); err != nil {
		t.Fatal(err)
	}
}

func TestSealedKeysRefuseToLoadWithoutTheRightKey(t *testing.T) {
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	db := newSealedDB(t)
	mustManager(t, db.st, "ES256", sealer(t, randomKey(t)), c)

	for name, tc := range map[string]struct {
		s    *seal.Sealer
		want string
	}{
		"no key":    {nil, "GATEHOUSE_ENCRYPTION_KEY is not set"},
		"wrong key": {sealer(t, randomKey(t)), "sealed with another encryption key"},
	} {
		_, err := openManager(db.st, "ES256", tc.s, c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Init = %v, want an error saying %q", name, err, tc.want)
		}
		if len(db.rows()) != 1 {
			t.Fatalf("%s: a failed start stored a key", name)
		}
	}
}

func TestTamperedOrMovedSealedKeysDoNotLoad(t *testing.T) {
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	db := newSealedDB(t)
	s := sealer(t, randomKey(t))
	m := mustManager(t, db.st, "ES256", s, c)
	next, err := m.Rotate(context.Background(), auth.Origin{})
	if err != nil {
		t.Fatal(err)
	}
	rows := db.rows()
	var first string
	for kid := range rows {
		if kid != next.ID {
			first = kid
		}
	}

	flipped := bytes.Clone(rows[first])
	flipped[len(flipped)-5] ^= 0x80
	db.set(first, flipped)
	if _, err := openManager(db.st, "ES256", s, c); err == nil || !errors.Is(err, seal.ErrAuthentication) {
		t.Fatalf("tampered row: Init = %v, want ErrAuthentication", err)
	}

	// The sealed bytes of one key moved to the other's row.
	db.set(first, rows[next.ID])
	if _, err := openManager(db.st, "ES256", s, c); err == nil || !errors.Is(err, seal.ErrAuthentication) {
		t.Fatalf("moved row: Init = %v, want ErrAuthentication", err)
	}
	db.set(first, rows[first])
	mustManager(t, db.st, "ES256", s, c)
}

func TestResealMovesOldAndClearKeysToTheNewKey(t *testing.T) {
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	db := newSealedDB(t)
	ctx := context.Background()

	// A key stored before sealing was on, and one sealed with the old key.
	clear := mustManager(t, db.st, "ES256", nil, c)
	if _, err := clear.Reseal(ctx); !errors.Is(err, ErrNoEncryptionKey) {
		t.Fatalf("Reseal without a key = %v", err)
	}
	tok := sign(t, clear, c)
	oldKey, newKey := randomKey(t), randomKey(t)
	if _, err := mustManager(t, db.st, "ES256", sealer(t, oldKey), c).Rotate(ctx, auth.Origin{}); err != nil {
		t.Fatal(err)
	}
	c.Add(20 * time.Minute) // the first key retires and then expires: reseal it anyway
	if _, err := mustManager(t, db.st, "ES256", sealer(t, oldKey), c).Rotate(ctx, auth.Origin{}); err != nil {
		t.Fatal(err)
	}
	c.Add(20 * time.Minute)

	// The new key alone does not open what the old key sealed.
	if _, err := openManager(db.st, "ES256", sealer(t, newKey), c); err == nil {
		t.Fatal("keys sealed with the old key loaded without it")
	}
	rotated := mustManager(t, db.st, "ES256", sealer(t, newKey, oldKey), c)
	res, err := rotated.Reseal(ctx)
	if err != nil || res.Resealed != 3 || res.Unchanged != 0 {
		t.Fatalf("Reseal = %+v, %v; want 3 resealed", res, err)
	}
	s := sealer(t, newKey)
	wantNoKeyMaterial(t, db.rows(), s)
	for kid, pk := range db.rows() {
		if !s.SealedWithPrimary(pk) {
			t.Fatalf("key %s is not sealed with the new key", kid)
		}
	}

	again, err := mustManager(t, db.st, "ES256", s, c).Reseal(ctx)
	if err != nil || again.Resealed != 0 || again.Unchanged != 3 {
		t.Fatalf("second Reseal = %+v, %v; want all unchanged", again, err)
	}

	// The same keys, only sealed: what the clear key signed still parses
	// into the key it was signed with.
	raw := db.rows()[kidOfToken(t, tok)]
	der, err := s.Open([]byte(kidOfToken(t, tok)), raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x509.ParsePKCS8PrivateKey(der); err != nil {
		t.Fatal(err)
	}
}

func kidOfToken(t *testing.T, tok string) string {
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid string }
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

func TestChangedReloadsAtOnce(t *testing.T) {
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	db := newSealedDB(t)
	a := mustManager(t, db.st, "ES256", nil, c)
	b := mustManager(t, db.st, "ES256", nil, c)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.Run(ctx, time.Hour)

	k, err := a.Rotate(ctx, auth.Origin{})
	if err != nil {
		t.Fatal(err)
	}
	b.Changed()
	deadline := time.Now().Add(2 * time.Second)
	for !contains(published(t, b), k.ID) {
		if time.Now().After(deadline) {
			t.Fatal("Changed did not reload the keys")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
