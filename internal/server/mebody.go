package server

import (
	"encoding/json"
	"sync"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// maxMeBodies bounds the answers meBodies keeps.
const maxMeBodies = 4096

// meBodies keeps the encoded GET /me answer of recent users. The answer
// stays the same until the user changes, and encoding it would be most of
// what the handler does; a changed user (a new address, role, ...) no
// longer matches the answer kept, which is encoded again.
type meBodies struct {
	mu sync.RWMutex
	m  map[string]meBody
}

type meBody struct {
	of   meFields
	body []byte
}

// meFields are what GET /me shows of a user.
type meFields struct {
	id, username, role, email string
	verified, mfa             bool
}

func meFieldsOf(u auth.User) meFields {
	return meFields{u.ID, u.Username, string(u.Role), u.Email, u.EmailVerified, u.MFAEnabled}
}

// body returns GET /me's answer for u.
func (c *meBodies) body(u auth.User) []byte {
	f := meFieldsOf(u)
	c.mu.RLock()
	kept, ok := c.m[u.ID]
	c.mu.RUnlock()
	if ok && kept.of == f {
		return kept.body
	}
	body, err := json.Marshal(toMeJSON(u))
	if err != nil {
		panic(err) // strings and booleans always encode
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]meBody)
	}
	if _, ok := c.m[u.ID]; !ok && len(c.m) >= maxMeBodies {
		for k := range c.m { // drop an arbitrary answer
			delete(c.m, k)
			break
		}
	}
	c.m[u.ID] = meBody{f, body}
	return body
}
