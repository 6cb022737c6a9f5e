package binanceapi

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them. One
// is known to: go-binance (the client library the conformance tests drive
// the simulator with, not linked into tradai) starts a keep-alive watchdog
// per websocket stream that notices the closed connection only at its next
// tick, WebsocketTimeout (10 minutes) later.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/adshao/go-binance/v2.keepAlive.func2"))
}
