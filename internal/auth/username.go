package auth

import (
	"slices"
	"strings"
	"unicode"

	"github.com/google/uuid"
	"github.com/mtibben/confusables"
	"golang.org/x/text/unicode/norm"
)

// This file holds the username rules that keep one name from passing for
// another: no name that parses as a UUID (user ids are UUIDs, and the audit
// filter takes either), no name that mixes scripts, and no name that looks
// like one already taken (UnicodeSecurity UTS #39 skeletons, compared by
// the store).

// UsernameSkeleton returns the form under which two usernames look alike:
// the UTS #39 skeleton of UsernameKey(name) (NFD, each character mapped to
// its prototype in Unicode's confusables table, NFD again), case-folded
// again (the prototypes of "0" and "o" differ only in case) and without a
// dot above on an i or j (the fold of "İ" is "i" + U+0307, which shows as
// an i). "alice", "аlice" (Cyrillic а), "alıce" and "ALİCE" share one.
func UsernameSkeleton(name string) string {
	s := confusables.Skeleton(UsernameKey(name))
	s = norm.NFD.String(foldCase(s))
	var b strings.Builder
	var prev rune
	for _, r := range s {
		if r == '\u0307' && (prev == 'i' || prev == 'j') {
			continue
		}
		b.WriteRune(r)
		prev = r
	}
	return b.String()
}

// checkUsernameShape refuses a normalized name that is letters, digits and
// "._-@" but could be taken for something else: a UUID, or a mix of
// scripts.
func checkUsernameShape(name string) error {
	if _, err := uuid.Parse(name); err == nil {
		return Errorf(EInvalid, "username must not have the form of a user id (a UUID)")
	}
	if !singleScript(name) {
		return Errorf(EInvalid, "username must not mix scripts (such as Latin and Cyrillic letters)")
	}
	return nil
}

// The script combinations that UTS #39 "highly restrictive" allows beside
// a single script: the ways Chinese, Japanese and Korean are written.
var scriptCombinations = [][]string{
	{"Latin", "Han", "Hiragana", "Katakana"},
	{"Latin", "Han", "Bopomofo"},
	{"Latin", "Han", "Hangul"},
}

// singleScript reports whether name is "highly restrictive" in the sense
// of UTS #39: its letters come from one script (Common and Inherited
// characters, such as digits and "._-@", count for any), or from one of
// scriptCombinations.
func singleScript(name string) bool {
	var scripts []string
	for _, r := range name {
		sc := scriptOf(r)
		if sc != "" && !slices.Contains(scripts, sc) {
			scripts = append(scripts, sc)
		}
	}
	if len(scripts) <= 1 {
		return true
	}
	for _, allowed := range scriptCombinations {
		if subset(scripts, allowed) {
			return true
		}
	}
	return false
}

// scriptOf returns the Unicode script of r, or "" for Common, Inherited
// and unassigned characters.
func scriptOf(r rune) string {
	if r < 0x80 {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return "Latin"
		}
		return ""
	}
	for name, table := range unicode.Scripts {
		if name != "Common" && name != "Inherited" && unicode.Is(table, r) {
			return name
		}
	}
	return ""
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
