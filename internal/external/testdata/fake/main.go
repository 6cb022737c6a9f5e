// Command fake is a deliberately misbehaving external strategy for the
// tests of package external. It reads its mode from the file named by
// TRADAI_FAKE_MODE_FILE when it starts and appends its pid (and those of
// the processes it starts, prefixed with "g") to TRADAI_FAKE_PID_FILE.
package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/tradai/tradai/sdk"
	"github.com/tradai/tradai/sdk/serve"
)

func main() {
	if os.Getenv("TRADAI_FAKE_SLEEPER") != "" {
		// Tell the parent who we are, then sleep.
		fd3 := os.NewFile(3, "pid pipe")
		fmt.Fprintln(fd3, hostPID())
		fd3.Close()
		time.Sleep(24 * time.Hour)
		return
	}
	b, err := os.ReadFile(os.Getenv("TRADAI_FAKE_MODE_FILE"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake:", err)
		os.Exit(9)
	}
	mode := strings.TrimSpace(string(b))
	record(fmt.Sprint(hostPID()))
	fmt.Fprintf(os.Stderr, "fake: starting in mode %s\n", mode)
	switch mode {
	case "exitstart":
		os.Exit(0)
	case "hanghello":
		time.Sleep(24 * time.Hour)
	case "detached":
		grandchild(nil, false)
		mode = "good"
	case "setsid":
		grandchild(nil, true)
		mode = "good"
	case "garbage", "wrongid", "wrongn", "badlen", "short", "badbyte", "bighead", "badtag", "shmoffset", "shmlen", "shmundeclared":
		raw(mode)
		return
	}
	var in io.Reader = os.Stdin
	if mode == "v1" {
		// A strategy built before protocol version 2: it answers the
		// hello with version 1, as if TradAI had offered only that.
		br := bufio.NewReader(os.Stdin)
		if _, err := serve.ReadHeader(br); err != nil {
			os.Exit(1)
		}
		in = io.MultiReader(strings.NewReader(`{"type":"hello","protocol":1}`+"\n"), br)
	}
	if err := serve.Serve(context.Background(), in, os.Stdout, fake{mode: mode}); err != nil {
		fmt.Fprintln(os.Stderr, "fake:", err)
		os.Exit(1)
	}
}

func record(line string) {
	f, err := os.OpenFile(os.Getenv("TRADAI_FAKE_PID_FILE"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake:", err)
		os.Exit(9)
	}
	fmt.Fprintln(f, line)
	f.Close()
}

// grandchild starts a sleeping copy of this program, with its standard
// output and error on out (nil: /dev/null), in a session of its own when
// setsid (out of the strategy's process group), and records its pid.
func grandchild(out *os.File, setsid bool) {
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "TRADAI_FAKE_SLEEPER=1")
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: setsid}
	if out != nil {
		cmd.Stdout, cmd.Stderr = out, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		panic(err)
	}
	w.Close()
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		panic(err)
	}
	r.Close()
	record("g" + strings.TrimSpace(line))
}

// hostPID is this process's pid as /proc names it: TradAI's view, also
// when the strategy runs in a PID namespace of its own (where getpid says
// 1).
func hostPID() int {
	s, err := os.Readlink("/proc/self")
	if err != nil {
		return os.Getpid()
	}
	var pid int
	fmt.Sscan(s, &pid)
	return pid
}

// parentPID is the pid of the parent as /proc names it (a strategy may
// run in a PID namespace of its own, where getppid says 0).
func parentPID() int {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return os.Getppid()
	}
	// pid (comm) state ppid ...
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	var ppid int
	fmt.Sscan(f[1], &ppid)
	return ppid
}

type fake struct{ mode string }

func (f fake) Spec() sdk.Spec {
	name := "fake"
	if f.mode == "renamed" {
		name = "fake_renamed"
	}
	return sdk.Spec{
		Name: name, Timeframe: "1m", CanShort: true, FileSignals: f.mode == "filesignals",
		Params: []sdk.Param{
			{Name: "fail", Kind: sdk.Bool, Default: false},
			{Name: "min_body", Kind: sdk.Float, Default: 0.0, Min: 0, Max: 1},
		},
		Risk: sdk.Risk{Stoploss: -0.1, MinimalROI: sdk.ROITable{{Minutes: 0, Ratio: 0.01}}},
	}
}

func (fake) Columns() []string { return []string{"open", "close"} }

// Populate enters long on a rising candle (tag "up") and short on a
// falling one (tag "down") when the body exceeds min_body, and exits on
// the opposite candle — unless the mode says to misbehave.
func (f fake) Populate(fr *sdk.Frame, p sdk.Values) error {
	switch f.mode {
	case "crash":
		fmt.Fprintln(os.Stderr, "fake: the database is on fire")
		os.Exit(3)
	case "panic":
		panic("fake: index out of range on purpose")
	case "hang":
		time.Sleep(24 * time.Hour)
	case "exit0":
		os.Exit(0)
	case "oom":
		// Address space without resident memory: fresh spans are not
		// touched.
		var keep [][]byte
		for {
			keep = append(keep, make([]byte, 64<<20))
		}
	case "env":
		// Everything it can learn of TradAI's environment goes to stderr:
		// its own, and its parent's read through /proc.
		for _, kv := range os.Environ() {
			fmt.Fprintln(os.Stderr, "fake env:", kv)
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", parentPID())); err == nil {
			fmt.Fprintln(os.Stderr, "fake parent env:", strings.ReplaceAll(string(b), "\x00", " "))
		}
		os.Exit(3)
	case "chatty":
		for i := range 10_000 {
			fmt.Fprintf(os.Stderr, "fake: line %d of a long story\n", i)
		}
		os.Exit(3)
	case "grandchild":
		grandchild(os.Stdout, false)
		fmt.Fprintln(os.Stderr, "fake: leaving a grandchild behind")
		os.Exit(3)
	case "setsidchild":
		grandchild(nil, true)
		fmt.Fprintln(os.Stderr, "fake: leaving a grandchild in a session of its own behind")
		os.Exit(3)
	}
	if p.Bool("fail") {
		return fmt.Errorf("fake: asked to fail on %s", fr.Pair)
	}
	minBody := p.Float("min_body")
	fr.EnsureSignals()
	for i := range fr.Close {
		body := fr.Close[i] - fr.Open[i]
		switch {
		case body > minBody:
			fr.EnterLong[i], fr.ExitShort[i] = true, true
			fr.SetEnterTag(i, "up")
		case -body > minBody:
			fr.EnterShort[i], fr.ExitLong[i] = true, true
			fr.SetEnterTag(i, "down")
		}
	}
	return nil
}

// raw speaks the protocol by hand to break it on the first request.
func raw(mode string) {
	br := bufio.NewReader(os.Stdin)
	w := os.Stdout
	if _, err := serve.ReadHeader(br); err != nil {
		os.Exit(1)
	}
	spec := fake{}.Spec()
	sm := serve.SpecMessage{Type: serve.TypeSpec, Protocol: serve.Protocol, Columns: fake{}.Columns(), Spec: spec}
	if mode == "shmoffset" || mode == "shmlen" {
		sm.Transports = []string{serve.TransportShm}
	}
	if err := serve.WriteHeader(w, sm); err != nil {
		os.Exit(1)
	}
	line, err := serve.ReadHeader(br)
	if err != nil {
		os.Exit(1)
	}
	var m serve.PopulateMessage
	if err := serve.DecodeHeader(line, &m, serve.TypePopulate); err != nil {
		os.Exit(1)
	}
	if _, err := io.CopyN(io.Discard, br, m.Bytes); err != nil {
		os.Exit(1)
	}
	n := m.N
	hdr := serve.SignalsMessage{Type: serve.TypeSignals, ID: m.ID, N: n, Columns: serve.SignalColumns(), Bytes: 4 * int64(n)}
	payload := make([]byte, 4*n)
	switch mode {
	case "garbage":
		fmt.Fprintln(w, "Traceback (most recent call last): oops")
		time.Sleep(24 * time.Hour)
	case "bighead":
		w.Write([]byte(strings.Repeat("x", 2<<20)))
		time.Sleep(24 * time.Hour)
	case "wrongid":
		hdr.ID++
	case "wrongn":
		hdr.N--
		hdr.Bytes = 4 * int64(hdr.N)
		payload = payload[:4*hdr.N]
	case "badlen":
		hdr.Bytes += 4
	case "badbyte":
		payload[n+5] = 2
	case "badtag":
		hdr.EnterTags = map[string]string{fmt.Sprint(n): "late"}
	case "shmoffset": // past the end of the shared file
		hdr.Bytes, payload = 0, nil
		hdr.Shm = &serve.ShmRegion{Offset: 1 << 40, Bytes: 4 * int64(n)}
	case "shmlen": // a region longer than the columns
		hdr.Bytes, payload = 0, nil
		hdr.Shm = &serve.ShmRegion{Offset: 0, Bytes: 4*int64(n) + 1}
	case "shmundeclared": // shared memory it did not ask for
		hdr.Bytes, payload = 0, nil
		hdr.Shm = &serve.ShmRegion{Offset: 0, Bytes: 4 * int64(n)}
	case "short":
		serve.WriteHeader(w, hdr)
		w.Write(payload[:10])
		fmt.Fprintln(os.Stderr, "fake: giving up after 10 bytes")
		os.Exit(0)
	}
	serve.WriteHeader(w, hdr)
	w.Write(payload)
	time.Sleep(24 * time.Hour)
}
