package hugepage

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/tradai/tradai/internal/racetest"
)

// primeChildEnv makes the test binary run primeChild instead of the tests.
const primeChildEnv = "TRADAI_HUGEPAGE_PRIME_CHILD"

func init() {
	if v := os.Getenv(primeChildEnv); v != "" {
		primeChild(v == "prime")
		os.Exit(0)
	}
}

// primeChild allocates 16 MB in 2 KB pieces, kept, after Prime when
// prime is set, and prints the page faults the pieces took.
func primeChild(prime bool) {
	if prime {
		old := debug.SetGCPercent(-1)
		Prime(64 << 20)
		debug.SetGCPercent(old)
		runtime.GC()
	}
	var before, after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	kept := make([][]byte, 0, 8192)
	for range 8192 {
		b := make([]byte, 2048)
		b[0], b[1024] = 1, 1
		kept = append(kept, b)
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	fmt.Println(after.Minflt - before.Minflt)
	if len(kept) != 8192 {
		panic("lost")
	}
}

// After Prime, a fresh process's many small allocations take a page
// fault per 2 MB, not per 4 KB: a quarter of the faults without it at
// most (an eighth to a twelfth, measured; the runtime's own structures
// take the rest, more when other processes crowd the machine).
func TestPrimeMakesHugePages(t *testing.T) {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || strings.Contains(string(mode), "[never]") {
		t.Skip("transparent huge pages are off on this machine")
	}
	racetest.Skip(t, "the race detector's shadow memory takes page faults of its own")
	faults := func(how string) int {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), primeChildEnv+"="+how)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", how, err, out)
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(out)))
		if err != nil {
			t.Fatalf("%s: %q", how, out)
		}
		return n
	}
	plain, primed := faults("plain"), faults("prime")
	t.Logf("16 MB in 2 KB pieces: %d page faults, %d after Prime", plain, primed)
	if plain < 2000 {
		t.Skipf("the heap took %d page faults without Prime: huge pages are given without advice here", plain)
	}
	if primed > plain/4 {
		t.Fatalf("after Prime: %d page faults, without: %d", primed, plain)
	}
}
