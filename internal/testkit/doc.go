// Package testkit is test support shared by the packages' tests: a TCP
// proxy that can be cut to simulate an outage, a slog handler that counts
// records, and a key prefix of each test's own in the test Redis (see
// pgtest for the PostgreSQL counterpart). It is imported only from
// _test.go files.
package testkit
