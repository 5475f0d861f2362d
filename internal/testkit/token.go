package testkit

// Tamper returns a compact JWS with one character of its signature
// changed: always a different token (replacing the last characters with
// fixed ones leaves a token unchanged when it already ends in them), and
// one whose changed character carries signature bits, not the spare bits
// of the last base64 character.
func Tamper(tok string) string {
	i := len(tok) - 3
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}
