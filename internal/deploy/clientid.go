package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Leg is which side of a trade an order is: its entry or its exit.
type Leg byte

const (
	Entry Leg = 'e'
	Exit  Leg = 'x'
)

func (l Leg) String() string {
	switch l {
	case Entry:
		return "entry"
	case Exit:
		return "exit"
	}
	return "unknown"
}

// clientPrefix starts every client order id TradAI makes.
const clientPrefix = "td"

// maxClientOrderID is Binance's limit on a client order id's length.
const maxClientOrderID = 36

// The largest trade number and attempt a client order id holds (10 and 5
// base-36 digits), so that it stays within Binance's 36 characters.
const (
	MaxTradeSeq = 3656158440062975 // 36^10 - 1
	MaxAttempt  = 60466175         // 36^5 - 1
)

// ClientOrderID is the client order id of attempt (0, 1, …) of leg of
// trade number tradeSeq of a deployment: "td", 16 hex digits of the
// deployment id's SHA-256, then "-", the trade number and the leg letter,
// "-" and the attempt, the numbers in base 36. It uses only [a-z0-9-],
// is at most 36 characters (Binance's limit) for any trade and attempt
// number up to MaxTradeSeq and MaxAttempt (beyond them, or negative, it
// panics: a runner's bug), and is the same every time it is computed, so
// a runner that restarts finds the orders it placed.
func ClientOrderID(deployment string, tradeSeq int64, leg Leg, attempt int) string {
	if tradeSeq < 0 || tradeSeq > MaxTradeSeq || attempt < 0 || attempt > MaxAttempt || leg != Entry && leg != Exit {
		panic(fmt.Sprintf("deploy: client order id of trade %d, leg %q, attempt %d is out of range", tradeSeq, leg, attempt))
	}
	h := sha256.Sum256([]byte(deployment))
	return clientPrefix + hex.EncodeToString(h[:8]) + "-" + strconv.FormatInt(tradeSeq, 36) + string(leg) + "-" + strconv.FormatInt(int64(attempt), 36)
}

// ClientOrderRef is what a client order id made by ClientOrderID says.
type ClientOrderRef struct {
	Deployment string // 16 hex digits of the deployment id's SHA-256
	TradeSeq   int64
	Leg        Leg
	Attempt    int
}

// ParseClientOrderID reads a client order id that ClientOrderID made (an
// id a venue lists may be anyone's: an error says it is not ours).
func ParseClientOrderID(id string) (ClientOrderRef, error) {
	bad := func(why string) (ClientOrderRef, error) {
		return ClientOrderRef{}, fmt.Errorf("client order id %q is not a TradAI deployment's: %s", id, why)
	}
	if len(id) > maxClientOrderID || !strings.HasPrefix(id, clientPrefix) {
		return bad("no td prefix or too long")
	}
	parts := strings.Split(id[len(clientPrefix):], "-")
	if len(parts) != 3 || len(parts[0]) != 16 || len(parts[1]) < 2 {
		return bad("not deployment-trade-attempt")
	}
	if _, err := hex.DecodeString(parts[0]); err != nil || strings.ToLower(parts[0]) != parts[0] {
		return bad("deployment hash is not hex")
	}
	tr, legc := parts[1][:len(parts[1])-1], Leg(parts[1][len(parts[1])-1])
	if legc != Entry && legc != Exit {
		return bad("leg is not e or x")
	}
	seq, err := parseBase36(tr)
	if err == nil && seq > MaxTradeSeq {
		err = errors.New("too large")
	}
	if err != nil {
		return bad("trade number: " + err.Error())
	}
	att, err := parseBase36(parts[2])
	if err != nil || att > MaxAttempt {
		return bad("attempt number")
	}
	return ClientOrderRef{Deployment: parts[0], TradeSeq: seq, Leg: legc, Attempt: int(att)}, nil
}

// parseBase36 reads a non-negative base-36 number written as
// strconv.FormatInt writes it (lower case, no sign, no leading zeros).
func parseBase36(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 36, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 36) != s {
		return 0, fmt.Errorf("%q is not a base-36 number", s)
	}
	return n, nil
}

// Owns reports whether a client order id was made for deployment.
func (r ClientOrderRef) Owns(deployment string) bool {
	h := sha256.Sum256([]byte(deployment))
	return r.Deployment == hex.EncodeToString(h[:8])
}
