// Package gatehouse is the root of the Gatehouse module: a JWT
// authentication server (cmd/gatehouse) and the verify package that other
// Go services import to check its tokens. The server's parts live under
// internal/, cut by domain; see README.md for the map.
package gatehouse
