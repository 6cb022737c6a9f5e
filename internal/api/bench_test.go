package api_test

import (
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tradai/tradai/internal/client/clienttest"
)

// BenchmarkGetRunAt1000rps measures GET /api/v1/backtests/{id} of a
// completed run over loopback HTTP, with requests sent at 1,000 per second
// (each on its own goroutine, like independent clients) against the
// embedded (SQLite) store. It reports the latency percentiles.
func BenchmarkGetRunAt1000rps(b *testing.B) {
	e := newEnv(b, sqliteDB(b), clienttest.Options{RateLimit: 100000})
	tk := e.submit(e.token, submission(b))
	e.wait(e.token, tk.StatusURL)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512}}
	get := func() (time.Duration, error) {
		req, _ := http.NewRequest("GET", e.url+tk.StatusURL, nil)
		req.Header.Set("Authorization", "Bearer "+e.token)
		began := time.Now()
		res, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, err = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil {
			return 0, err
		}
		if res.StatusCode != http.StatusOK {
			b.Errorf("GET: %d", res.StatusCode)
		}
		return time.Since(began), nil
	}
	for range 200 { // warm the connection pool
		if _, err := get(); err != nil {
			b.Fatal(err)
		}
	}
	var (
		mu  sync.Mutex
		lat = make([]time.Duration, 0, b.N)
		wg  sync.WaitGroup
	)
	b.ResetTimer()
	began := time.Now()
	for i := range b.N {
		time.Sleep(time.Until(began.Add(time.Duration(i) * time.Millisecond)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := get()
			if err != nil {
				b.Error(err)
				return
			}
			mu.Lock()
			lat = append(lat, d)
			mu.Unlock()
		}()
	}
	wg.Wait()
	b.StopTimer()
	slices.Sort(lat)
	q := func(f float64) float64 {
		return float64(lat[min(len(lat)-1, int(f*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "req/s")
}
