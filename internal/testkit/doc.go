// Package testkit is test support shared by the packages' tests: a TCP
// proxy that can be cut to simulate an outage, a slog handler that counts
// records, a key prefix of each test's own in the test Redis (see pgtest
// for the PostgreSQL counterpart), and a reusable ResponseWriter. It is
// imported only from _test.go files and the benchmark harness.
package testkit
