//go:build !unix

package asterisk

import "net"

// open cannot look at the socket here: a pooled connection is taken as
// open (a request written on one Asterisk closed fails, and is sent again
// only when it is a GET or HEAD).
func open(net.Conn) bool { return true }
