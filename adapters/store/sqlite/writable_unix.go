//go:build unix

package sqlite

import "syscall"

// canWrite reports whether this process may write path, as the kernel
// would decide for a write: permissions, a read-only mount (EROFS) and an
// immutable file (EPERM, even for root) all say no. It changes nothing.
func canWrite(path string) error {
	const wOK = 0x2
	return syscall.Access(path, wOK)
}
