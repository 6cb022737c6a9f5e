package platform

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// A connection the client opened but has not used yet stays open past the
// server's header timeout (it is idle, as a client's pool holds it), and a
// request sent on it later is answered; a client that starts a request and
// stalls is still cut off by the header timeout.
func TestFreshConnectionWaitsIdleTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }),
		ReadHeaderTimeout: 20 * time.Millisecond,
		IdleTimeout:       time.Minute,
	}
	go hs.Serve(idleFirstListener{Listener: ln, idle: hs.IdleTimeout})
	t.Cleanup(func() { hs.Close() })

	idle, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	// Idle for 25 times the header timeout: the server must not hang up.
	idle.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := idle.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("idle fresh connection: read %v, want it still open (the server hung up)", err)
	}
	idle.SetReadDeadline(time.Time{})
	if _, err := io.WriteString(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(idle), nil)
	if err != nil {
		t.Fatalf("request on the connection after idling: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}

	// Half a request line, then nothing: the connection ends after the
	// header timeout.
	slow, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := io.WriteString(slow, "GET / HT"); err != nil {
		t.Fatal(err)
	}
	slow.SetReadDeadline(time.Now().Add(30 * time.Second))
	if b, err := io.ReadAll(slow); err != nil {
		t.Fatalf("stalled request: read %q, %v; want the server to end the connection", b, err)
	}
}
