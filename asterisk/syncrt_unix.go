//go:build unix

package asterisk

import (
	"errors"
	"net"
	"syscall"
)

// open reports whether the pooled connection c is still open and quiet:
// one non-blocking peek at its socket (recv with MSG_PEEK|MSG_DONTWAIT).
// A connection Asterisk closed while it was idle reads end of file (or an
// error), one with unasked-for bytes is no longer in step: neither is
// reused, so a request is never written where Asterisk has stopped
// reading it and never needs to be sent twice.
func open(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var (
		n    int
		rerr error
		buf  [1]byte
	)
	if err := raw.Read(func(fd uintptr) bool {
		n, _, rerr = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true // never wait: one look
	}); err != nil {
		return false
	}
	_ = n // 1: bytes nobody asked for; 0: end of file
	return errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EWOULDBLOCK)
}
