// Command hostile is a wasm strategy that attacks its sandbox, one attack
// per value of its "attack" parameter, for the escape tests of
// internal/wasm. An attack that gets through makes Populate fail with an
// error starting "ESCAPED"; one that is stopped inside the module makes it
// fail with what stopped it.
package main

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/tradai/tradai/sdk"
	"github.com/tradai/tradai/sdk/wasm"
)

type hostile struct{}

func (hostile) Spec() sdk.Spec {
	return sdk.Spec{
		Name: "hostile", Timeframe: "5m",
		Params: []sdk.Param{{Name: "attack", Kind: sdk.Categorical, Default: "none",
			Choices: []string{"none", "loop", "sleep", "nap", "grow", "panic", "file", "write", "net", "env", "output", "tags"}}},
		Risk: sdk.Risk{Stoploss: -0.1},
	}
}

var sink [][]byte

func (hostile) Populate(f *sdk.Frame, p sdk.Values) error {
	f.EnsureSignals()
	switch p.String("attack") {
	case "loop":
		for i := 0; ; i++ {
			f.EnterLong[i%max(f.Len(), 1)] = true
		}
	case "sleep":
		select {}
	case "nap":
		time.Sleep(10 * 365 * 24 * time.Hour)
		return fmt.Errorf("ESCAPED: slept ten years")
	case "grow":
		for {
			sink = append(sink, make([]byte, 16<<20))
		}
	case "panic":
		var m map[string]int
		m["boom"]++
	case "file":
		for _, path := range []string{"/etc/passwd", "/proc/1/environ", "."} {
			if b, err := os.ReadFile(path); err == nil {
				return fmt.Errorf("ESCAPED: read %d bytes of %s", len(b), path)
			}
		}
		_, err := os.ReadFile("/etc/passwd")
		return err
	case "write":
		if err := os.WriteFile("/tmp/tradai-wasm-escape", []byte("x"), 0o644); err == nil {
			return fmt.Errorf("ESCAPED: wrote /tmp/tradai-wasm-escape")
		} else {
			return err
		}
	case "net":
		for _, addr := range []string{f.Pair, "127.0.0.1:5432", "1.1.1.1:53"} {
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				return fmt.Errorf("ESCAPED: connected to %s", addr)
			}
		}
		_, err := net.Dial("tcp", f.Pair)
		return err
	case "env":
		if env := os.Environ(); len(env) > 0 {
			return fmt.Errorf("ESCAPED: environment %s", strings.Join(env, " "))
		}
		if len(os.Args) > 0 {
			return fmt.Errorf("ESCAPED: arguments %q", os.Args)
		}
		return fmt.Errorf("no environment, no arguments")
	case "output":
		line := strings.Repeat("x", 1<<20) + "\n"
		for range 64 {
			os.Stdout.WriteString(line)
			os.Stderr.WriteString(line)
		}
		return fmt.Errorf("wrote 128 MiB")
	case "tags":
		for i := range f.Len() {
			f.SetEnterTag(i, fmt.Sprintf("tag%d", i%3))
		}
	}
	return nil
}

func init() { wasm.Register(hostile{}) }

func main() {}
