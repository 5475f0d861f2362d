// Copyright 2017 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

// Package argon2 is Argon2id (RFC 9106) from golang.org/x/crypto/argon2
// v0.59.0, changed in one respect: a hash can run in working memory that
// the caller keeps between hashes ([Memory]) instead of a fresh allocation.
//
// golang.org/x/crypto/argon2 allocates the whole memory cost on the Go
// heap for every hash and drops it at the end (golang/go#36634 asks for
// this change upstream). A server that hashes passwords all day then makes
// tens of megabytes of garbage per login: the runtime clears each
// allocation, and the collector runs far more often than the rest of the
// program needs, or the heap grows to twice the hashes in flight. With one
// [Memory] per concurrent hash, kept outside the Go heap where the
// platform allows, neither happens.
//
// The block function (BlaMka, SSE4.1 assembly on amd64) and the H'
// function are upstream's files unchanged. The derivation differs from
// upstream's where memory is concerned: it takes the block memory as an
// argument, and the first pass writes each block instead of XORing it into
// memory that upstream knows to be zero (RFC 9106 §3.2 steps 5 and 6: only
// later passes XOR), so reused memory needs no clearing. It also differs
// in scheduling: a single lane runs in the caller's goroutine, and a hash
// yields its processor every 512 blocks (runtime.Gosched, about 0.3 ms of
// work), so that the requests of a server whose cores all hash wait for a
// fraction of a millisecond instead of the runtime's 10 ms preemption. The tests check every result against
// golang.org/x/crypto/argon2 on memory filled with garbage.
package argon2

import (
	"encoding/binary"
	"runtime"
	"sync"

	"golang.org/x/crypto/blake2b"
)

// Version is the Argon2 version implemented by this package.
const Version = 0x13

const argon2id = 2

const (
	blockLength = 128
	syncPoints  = 4

	// yieldBlocks is how many blocks a hash computes between two yields
	// of its processor: about 0.3 ms on a 2020s x86 core.
	yieldBlocks = 512
)

type block [blockLength]uint64

// BlockSize is the size in bytes of one block of working memory: the
// memory parameter counts blocks (KiB).
const BlockSize = blockLength * 8

// IDKey derives a key of keyLen bytes from password and salt with
// Argon2id, time passes over memory KiB and threads lanes, in freshly
// allocated memory, exactly as golang.org/x/crypto/argon2.IDKey does.
// time and threads must be at least 1.
func IDKey(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	return deriveKey(nil, password, salt, time, memory, threads, keyLen)
}

// IDKey is the package's IDKey run in m's working memory when it is large
// enough for memory (see [Memory.Fits]), or in freshly allocated memory
// when it is not. One Memory serves one hash at a time: concurrent calls
// on the same Memory corrupt each other's results.
func (m *Memory) IDKey(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	return deriveKey(m, password, salt, time, memory, threads, keyLen)
}

// Fits reports whether a hash with these memory and threads parameters
// runs in m without allocating.
func (m *Memory) Fits(memory uint32, threads uint8) bool {
	return m != nil && blocksFor(memory, threads) <= uint32(len(m.blocks))
}

// blocksFor is the number of blocks a hash uses: memory rounded down to a
// multiple of 4 blocks per lane, and at least 8 per lane (RFC 9106 §3.2).
func blocksFor(memory uint32, threads uint8) uint32 {
	t := uint32(threads)
	memory = memory / (syncPoints * t) * (syncPoints * t)
	return max(memory, 2*syncPoints*t)
}

func deriveKey(m *Memory, password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	if time < 1 {
		panic("argon2: number of rounds too small")
	}
	if threads < 1 {
		panic("argon2: parallelism degree too low")
	}
	h0 := initHash(password, salt, nil, nil, time, memory, uint32(threads), keyLen, argon2id)

	memory = blocksFor(memory, threads)
	var B []block
	if m.Fits(memory, threads) {
		B = m.blocks[:memory]
	} else {
		B = make([]block, memory)
	}
	initBlocks(B, &h0, memory, uint32(threads))
	processBlocks(B, time, memory, uint32(threads), argon2id)
	return extractKey(B, memory, uint32(threads), keyLen)
}

func initHash(password, salt, key, data []byte, time, memory, threads, keyLen uint32, mode int) [blake2b.Size + 8]byte {
	var (
		h0     [blake2b.Size + 8]byte
		params [24]byte
		tmp    [4]byte
	)

	b2, _ := blake2b.New512(nil)
	binary.LittleEndian.PutUint32(params[0:4], threads)
	binary.LittleEndian.PutUint32(params[4:8], keyLen)
	binary.LittleEndian.PutUint32(params[8:12], memory)
	binary.LittleEndian.PutUint32(params[12:16], time)
	binary.LittleEndian.PutUint32(params[16:20], uint32(Version))
	binary.LittleEndian.PutUint32(params[20:24], uint32(mode))
	b2.Write(params[:])
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(password)))
	b2.Write(tmp[:])
	b2.Write(password)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(salt)))
	b2.Write(tmp[:])
	b2.Write(salt)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(key)))
	b2.Write(tmp[:])
	b2.Write(key)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(data)))
	b2.Write(tmp[:])
	b2.Write(data)
	b2.Sum(h0[:0])
	return h0
}

// initBlocks writes the first two blocks of each lane of B.
func initBlocks(B []block, h0 *[blake2b.Size + 8]byte, memory, threads uint32) {
	var block0 [1024]byte
	for lane := uint32(0); lane < threads; lane++ {
		j := lane * (memory / threads)
		binary.LittleEndian.PutUint32(h0[blake2b.Size+4:], lane)

		binary.LittleEndian.PutUint32(h0[blake2b.Size:], 0)
		blake2bHash(block0[:], h0[:])
		for i := range B[j+0] {
			B[j+0][i] = binary.LittleEndian.Uint64(block0[i*8:])
		}

		binary.LittleEndian.PutUint32(h0[blake2b.Size:], 1)
		blake2bHash(block0[:], h0[:])
		for i := range B[j+1] {
			B[j+1][i] = binary.LittleEndian.Uint64(block0[i*8:])
		}
	}
}

func processBlocks(B []block, time, memory, threads uint32, mode int) {
	lanes := memory / threads
	segments := lanes / syncPoints

	processSegment := func(n, slice, lane uint32, wg *sync.WaitGroup) {
		var addresses, in, zero block
		dataIndependent := n == 0 && slice < syncPoints/2 // Argon2id
		if dataIndependent {
			in[0] = uint64(n)
			in[1] = uint64(lane)
			in[2] = uint64(slice)
			in[3] = uint64(memory)
			in[4] = uint64(time)
			in[5] = uint64(mode)
		}

		index := uint32(0)
		if n == 0 && slice == 0 {
			index = 2 // we have already generated the first two blocks
			in[6]++
			processBlock(&addresses, &in, &zero)
			processBlock(&addresses, &addresses, &zero)
		}

		offset := lane*lanes + slice*segments + index
		var random uint64
		for index < segments {
			prev := offset - 1
			if index == 0 && slice == 0 {
				prev += lanes // last block in lane
			}
			if dataIndependent {
				if index%blockLength == 0 {
					in[6]++
					processBlock(&addresses, &in, &zero)
					processBlock(&addresses, &addresses, &zero)
				}
				random = addresses[index%blockLength]
			} else {
				random = B[prev][0]
			}
			newOffset := indexAlpha(random, lanes, segments, threads, n, slice, lane, index)
			if n == 0 {
				// The block's memory may hold an earlier hash's data:
				// the first pass overwrites it.
				processBlock(&B[offset], &B[prev], &B[newOffset])
			} else {
				processBlockXOR(&B[offset], &B[prev], &B[newOffset])
			}
			index, offset = index+1, offset+1
			if index%yieldBlocks == 0 {
				// Let the goroutines that wait for a processor run: a
				// hash otherwise keeps its processor until the runtime
				// preempts it, every 10 ms, while the requests queued
				// behind it wait.
				runtime.Gosched()
			}
		}
		wg.Done()
	}

	for n := uint32(0); n < time; n++ {
		for slice := uint32(0); slice < syncPoints; slice++ {
			var wg sync.WaitGroup
			if threads == 1 {
				wg.Add(1)
				processSegment(n, slice, 0, &wg)
			} else {
				for lane := uint32(0); lane < threads; lane++ {
					wg.Add(1)
					go processSegment(n, slice, lane, &wg)
				}
				wg.Wait()
			}
		}
	}
}

func extractKey(B []block, memory, threads, keyLen uint32) []byte {
	lanes := memory / threads
	for lane := uint32(0); lane < threads-1; lane++ {
		for i, v := range B[(lane*lanes)+lanes-1] {
			B[memory-1][i] ^= v
		}
	}

	var block [1024]byte
	for i, v := range B[memory-1] {
		binary.LittleEndian.PutUint64(block[i*8:], v)
	}
	key := make([]byte, keyLen)
	blake2bHash(key, block[:])
	return key
}

func indexAlpha(rand uint64, lanes, segments, threads, n, slice, lane, index uint32) uint32 {
	refLane := uint32(rand>>32) % threads
	if n == 0 && slice == 0 {
		refLane = lane
	}
	m, s := 3*segments, ((slice+1)%syncPoints)*segments
	if lane == refLane {
		m += index
	}
	if n == 0 {
		m, s = slice*segments, 0
		if slice == 0 || lane == refLane {
			m += index
		}
	}
	if index == 0 || lane == refLane {
		m--
	}
	return phi(rand, uint64(m), uint64(s), refLane, lanes)
}

func phi(rand, m, s uint64, lane, lanes uint32) uint32 {
	p := rand & 0xFFFFFFFF
	p = (p * p) >> 32
	p = (p * m) >> 32
	return lane*lanes + uint32((s+m-(p+1))%uint64(lanes))
}
