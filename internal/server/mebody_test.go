package server

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/gatehouse/gatehouse/internal/auth"
)

func TestMeBodies(t *testing.T) {
	var c meBodies
	u := auth.User{ID: "u1", Username: "alice", Role: auth.RoleUser, Email: "alice@example.com", EmailVerified: true}
	first := c.body(u)
	want, _ := json.Marshal(toMeJSON(u))
	if string(first) != string(want) {
		t.Fatalf("body = %s, want %s", first, want)
	}
	if again := c.body(u); &again[0] != &first[0] {
		t.Fatal("an unchanged user's answer was encoded again")
	}
	for _, change := range []func(*auth.User){
		func(u *auth.User) { u.Username = "alice2" },
		func(u *auth.User) { u.Role = auth.RoleAdmin },
		func(u *auth.User) { u.Email = "" },
		func(u *auth.User) { u.Email = "other@example.com" },
		func(u *auth.User) { u.EmailVerified = false },
		func(u *auth.User) { u.MFAEnabled = true },
	} {
		v := u
		change(&v)
		got := c.body(v)
		want, _ := json.Marshal(toMeJSON(v))
		if string(got) != string(want) {
			t.Fatalf("after a change: body = %s, want %s", got, want)
		}
		c.body(u) // back, for the next change
	}
	for i := range 2 * maxMeBodies {
		c.body(auth.User{ID: fmt.Sprint(i), Username: "x", Role: auth.RoleUser})
	}
	if n := len(c.m); n > maxMeBodies {
		t.Fatalf("%d answers kept, at most %d", n, maxMeBodies)
	}
}
