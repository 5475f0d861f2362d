package password_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/password"
)

// A login against a legacy bcrypt hash succeeds and asks for a rehash; the
// new argon2id hash then verifies without one.
func ExampleHasher_Verify() {
	ctx := context.Background()
	h, err := password.New(password.DefaultParams, 0, time.Second)
	if err != nil {
		panic(err)
	}
	// Made by passlib: CryptContext(schemes=["bcrypt"]).hash("secret123"), cost 4.
	stored := "$2b$04$pTcseA7Kf2n4JFu49rWDC.BiHYobA7Uo9npnha3MtoO4i/z3RjIF2"

	ok, needsRehash, err := h.Verify(ctx, "secret123", stored)
	fmt.Println(ok, needsRehash, err)
	if ok && needsRehash {
		if stored, err = h.Hash(ctx, "secret123"); err != nil {
			panic(err) // ErrBusy: keep the old hash, try again at the next login
		}
	}
	fmt.Println(h.Verify(ctx, "secret123", stored))
	fmt.Println(h.Verify(ctx, "wrong", stored))
	// Output:
	// true true <nil>
	// true false <nil>
	// false false <nil>
}
