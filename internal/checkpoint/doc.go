// Package checkpoint keeps a replay position (how many lines of a file have
// been consumed) in a small memory-mapped state file, so that recording it
// after every item costs two memory stores and no system call, and survives
// the process being killed at any instant (the stores are in the page cache,
// which the kernel writes back whether or not the process lives).
//
// The file is compatible with go-dletter v0.2.0's "<backup>-state" files:
// bytes 0-15 hold the count as a little-endian uint64 followed by the count
// XOR 0xDEADBEEFCAFEBABE. This package adds a second copy in bytes 16-31 and
// writes it first, so a process killed between the two 8-byte stores of one
// copy leaves the other one valid; a reader that only knows the first copy
// sees at worst an older count (a duplicate delivery, never a loss).
//
// Use:
//
//	cp, err := checkpoint.Open(backup + "-state")
//	defer cp.Close()
//	skip := cp.Value() // lines already consumed
//	...
//	cp.Store(consumed) // after each item
//
// A power loss may lose recent stores (the page is not synced per item): the
// position then goes back, which redelivers items but never skips one. Call
// Sync to make the current value durable.
package checkpoint
