//go:build !unix

package argon2

// mapBlocks allocates n blocks on the Go heap: on this platform the
// memory is not mapped apart, and the collector counts it.
func mapBlocks(n int) ([]block, func() error, error) {
	return make([]block, n), nil, nil
}
