package mail

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/seal"
)

// Sealer encrypts what the outbox keeps of a message's body until it is
// sent (seal.Sealer): a pending message holds a live link. A sealed part
// is kept as seal.SealText makes it.
type Sealer = seal.Sealing

// bodyAAD binds a sealed part to its message and part, so that a sealed
// body cannot be moved to another message or part.
func bodyAAD(id, part string) []byte { return []byte("gatehouse mail body\x00" + id + "\x00" + part) }

// sealBody returns m with its parts sealed by s (m unchanged when s is nil).
func sealBody(s Sealer, m auth.Mail) (auth.Mail, error) {
	if s == nil {
		return m, nil
	}
	for _, p := range []struct {
		name string
		v    *string
	}{{"text", &m.Text}, {"html", &m.HTML}} {
		if *p.v == "" {
			continue
		}
		text, err := seal.SealText(s, bodyAAD(m.ID, p.name), []byte(*p.v))
		if err != nil {
			return auth.Mail{}, fmt.Errorf("seal the %s part of a message: %w", p.name, err)
		}
		*p.v = text
	}
	return m, nil
}

// Sealed reports whether a message's body is sealed.
func Sealed(m auth.Mail) bool { return strings.HasPrefix(m.Text, seal.TextPrefix) }

var errNoKey = errors.New("the message body is encrypted and no GATEHOUSE_ENCRYPTION_KEY (or _OLD) opens it")

// openBody returns m with its sealed parts opened by s.
func openBody(s Sealer, m auth.Mail) (auth.Mail, error) {
	for _, p := range []struct {
		name string
		v    *string
	}{{"text", &m.Text}, {"html", &m.HTML}} {
		blob, sealed, err := seal.TextBlob(*p.v)
		if !sealed {
			continue
		}
		if err != nil {
			return auth.Mail{}, fmt.Errorf("the %s part of the message: %w", p.name, err)
		}
		if s == nil {
			return auth.Mail{}, errNoKey
		}
		plain, err := s.Open(bodyAAD(m.ID, p.name), blob)
		if err != nil {
			return auth.Mail{}, fmt.Errorf("open the %s part of the message: %w", p.name, err)
		}
		*p.v = string(plain)
	}
	return m, nil
}

// Unsealing returns a Transport that opens a message's sealed body with s
// (nil: no key) before t sends it. A body that cannot be opened (its key
// is gone) is a permanent failure: no attempt will open it.
func Unsealing(t Transport, s Sealer) Transport { return unsealing{t, s} }

type unsealing struct {
	t Transport
	s Sealer
}

func (u unsealing) Send(ctx context.Context, m auth.Mail) error {
	m, err := openBody(u.s, m)
	if err != nil {
		return &SendError{Permanent: true, Err: err}
	}
	return u.t.Send(ctx, m)
}
