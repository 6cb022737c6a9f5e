package platform

import (
	"net"
	"sync"
	"time"
)

// idleFirstListener gives a new connection as long to send its first
// request as a kept-alive connection has to send its next one.
//
// net/http's server counts ReadHeaderTimeout for the first request of a
// connection from the moment it is accepted, so a connection the client
// opened but has not used yet is closed without an answer once that
// timeout passes (10 s), while the client holds it as idle and usable for
// much longer (Go's clients 90 s). A client that then sends a request on
// it reads EOF, and cannot tell whether its request was done; under load,
// when clients open connections they end up not needing, this happens by
// the thousand. With this listener the wait for the first byte is bounded
// by idle instead (the server's IdleTimeout, which clients' idle pools stay
// under), and ReadHeaderTimeout counts from the first byte, as it does for
// every later request.
type idleFirstListener struct {
	net.Listener
	idle time.Duration
}

func (l idleFirstListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &idleFirstConn{Conn: c, idle: l.idle}, nil
}

// idleFirstConn is a connection that has not yet read its first byte.
type idleFirstConn struct {
	net.Conn
	idle time.Duration

	mu      sync.Mutex
	started bool      // the client has sent its first bytes
	asked   time.Time // the read deadline the server set before that
	askedAt time.Time // when it set it
}

// SetReadDeadline, before the first byte, keeps the server's deadline to
// apply it from the first byte and waits up to idle meanwhile.
func (c *idleFirstConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return c.Conn.SetReadDeadline(t)
	}
	now := time.Now() // a connection deadline is the OS's wall clock, not an injected one
	c.asked, c.askedAt = t, now
	return c.Conn.SetReadDeadline(now.Add(c.idle))
}

func (c *idleFirstConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(t)
}

func (c *idleFirstConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if !c.started {
			c.started = true
			// The server's deadline, shifted by the time spent waiting.
			if !c.asked.IsZero() {
				c.Conn.SetReadDeadline(c.asked.Add(time.Since(c.askedAt)))
			} else {
				c.Conn.SetReadDeadline(time.Time{})
			}
		}
		c.mu.Unlock()
	}
	return n, err
}
