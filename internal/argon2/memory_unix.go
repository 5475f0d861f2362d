//go:build unix

package argon2

import (
	"syscall"
	"unsafe"
)

// mapBlocks maps n zero blocks of anonymous private memory. The mapping
// holds no Go pointers, so the collector may ignore it.
func mapBlocks(n int) ([]block, func() error, error) {
	b, err := syscall.Mmap(-1, 0, n*BlockSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, nil, err
	}
	blocks := unsafe.Slice((*block)(unsafe.Pointer(unsafe.SliceData(b))), n)
	return blocks, func() error { return syscall.Munmap(b) }, nil
}
