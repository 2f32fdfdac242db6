package blob_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/blob"
)

// maxGrowth is the most a 100 MB upload may add to the process's peak
// memory (the bound).
const maxGrowth = 32 << 20

// TestStreaming100MB uploads 100 MB that never exist in memory as a whole
// (they are generated as they are read) through each backend, reads them
// back, and measures how much the process's peak resident memory grows
// meanwhile. The S3 server runs in a child process, so what is measured
// is the client: the store, the SDK and the HTTP transport, which is the
// part of a Taruvi server an upload costs; gofakes3 keeps every object in
// memory and would otherwise be counted. The peak of the Go heap, sampled
// every few milliseconds, is logged beside it.
//
// Not parallel: other tests' memory would count. Under the race detector,
// which makes the S3 upload (client and server) ten times slower, the size
// is 30 MB.
func TestStreaming100MB(t *testing.T) {
	size := int64(100 << 20)
	if raceEnabled {
		size = 30 << 20
	}
	want := taruvi.BlobInfo{Key: "tenants/acme/files/big.bin", Size: size, SHA256: sha256Of(t, generated(size))}
	backends := []struct {
		name string
		open func(t *testing.T) taruvi.BlobStore
	}{
		{"local", func(t *testing.T) taruvi.BlobStore {
			l, err := blob.NewLocal(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return l
		}},
		{"s3", func(t *testing.T) taruvi.BlobStore { return newS3(t, s3Config(fakeS3Process(t))) }},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			store := b.open(t)
			ctx := context.Background()
			var info taruvi.BlobInfo
			put := measure(t, func() error {
				var err error
				info, err = store.Put(ctx, want.Key, generated(size), size, "application/octet-stream")
				return err
			})
			if info != want {
				t.Errorf("Put = %+v, want %+v", info, want)
			}
			var got string
			get := measure(t, func() error {
				rc, _, err := store.Get(ctx, want.Key)
				if err != nil {
					return err
				}
				defer rc.Close()
				got = sha256Of(t, rc)
				return nil
			})
			if got != want.SHA256 {
				t.Errorf("Get: SHA-256 %s, want %s", got, want.SHA256)
			}
			t.Logf("%s, %d MB: Put %s; Get %s", b.name, size>>20, put, get)
			for op, m := range map[string]peak{"Put": put, "Get": get} {
				if m.rss > maxGrowth || m.heap > maxGrowth {
					t.Errorf("%s of %d MB grew the peak memory by %s, want under %d MB", op, size>>20, m, maxGrowth>>20)
				}
			}
		})
	}
}

// peak is how much the peak memory of the process grew during a call.
type peak struct {
	rss  int64 // resident set (VmHWM); -1 when the system does not tell
	heap int64 // Go heap in use, sampled
	took time.Duration
}

func (p peak) String() string {
	rss := "not measured"
	if p.rss >= 0 {
		rss = fmt.Sprintf("%.1f MB", float64(p.rss)/(1<<20))
	}
	return fmt.Sprintf("peak RSS growth %s, peak heap growth %.1f MB, %v",
		rss, float64(p.heap)/(1<<20), p.took.Round(time.Millisecond))
}

// measure runs fn, failing the test if it fails, and returns how much it
// raised the process's peak memory above what it used before. The peak
// resident set comes from Linux's VmHWM, reset first through clear_refs.
func measure(t *testing.T, fn func() error) peak {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory() // so that memory fn reuses counts as growth
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap0 := ms.HeapInuse
	rss0, rssErr := resetPeakRSS()

	stop, peakHeap := make(chan struct{}), make(chan uint64)
	go func() {
		top := heap0
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			top = max(top, ms.HeapInuse)
			select {
			case <-stop:
				peakHeap <- top
				return
			case <-tick.C:
			}
		}
	}()
	start := time.Now()
	err := fn()
	p := peak{took: time.Since(start), rss: -1}
	close(stop)
	p.heap = int64(<-peakHeap - heap0)
	if err != nil {
		t.Fatal(err)
	}
	if rssErr != nil {
		t.Logf("peak RSS not measured: %v", rssErr)
		return p
	}
	hwm, err := procStatus("VmHWM")
	if err != nil {
		t.Fatal(err)
	}
	p.rss = hwm - rss0
	return p
}

// resetPeakRSS sets the process's VmHWM to its current resident set, which
// it returns.
func resetPeakRSS() (int64, error) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return 0, err
	}
	return procStatus("VmRSS")
}

// procStatus returns a "kB" field of /proc/self/status, in bytes.
func procStatus(field string) (int64, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no " + field + " in /proc/self/status")
}

// generated returns size pseudo-random bytes, the same for the same size,
// made as they are read.
func generated(size int64) io.Reader {
	return &generator{rng: rand.NewChaCha8([32]byte{'t', 'a', 'r', 'u', 'v', 'i'}), left: size}
}

type generator struct {
	rng  *rand.ChaCha8
	left int64
}

func (g *generator) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	n, _ := g.rng.Read(p)
	g.left -= int64(n)
	return n, nil
}

func sha256Of(t *testing.T, r io.Reader) string {
	t.Helper()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
