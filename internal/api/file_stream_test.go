package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

// maxUploadGrowth is the most a 100 MB upload may add to the process's
// peak memory.
const maxUploadGrowth = 32 << 20

// TestFileUploadStreams sends 100 MB (30 MB under the race detector, which
// slows everything and adds shadow memory) through the real handler, as a
// multipart body generated while it is sent, and measures how much the
// peak resident memory of the process grows meanwhile: client, server,
// file service and local blob store together. It does so with the file
// after its field (streamed to the store) and before it (spooled to a
// temporary file, which must hold the whole file before the field is sent,
// and be gone after). Then it downloads the file the same way. None may
// hold the file in memory.
//
// Not parallel: other tests' memory would count.
func TestFileUploadStreams(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("peak memory is read from Linux's /proc")
	}
	size := int64(100 << 20)
	if raceEnabled {
		size = 30 << 20
	}
	s := newFileStack(t, size)
	a := s.newTenant(t)
	owner := a.owner(t, "olga")
	project := s.create(t, a.host, "/api/projects/", owner.cred, `{"name":"Big data"}`)

	var sent, id string
	peaks := map[string]rssPeak{}
	for _, fileFirst := range []bool{false, true} {
		op := map[bool]string{false: "upload", true: "upload, file first"}[fileFirst]
		peaks[op] = measurePeakRSS(t, func() {
			pr, pw := io.Pipe()
			mw := multipart.NewWriter(pw)
			done := make(chan string, 1)
			go func() {
				var spooled func() error
				if fileFirst {
					spooled = func() error { return s.waitSpooled(size) }
				}
				sum, err := writeUploadForm(mw, project, size, spooled)
				pw.CloseWithError(err)
				done <- sum
			}()
			status, body := s.post(t, a.host, owner.cred, "", mw.FormDataContentType(), pr)
			pr.Close() // unblocks the writer if the server stopped reading
			sent = <-done
			if status != http.StatusCreated {
				t.Fatalf("%s: %d %s", op, status, body)
			}
			if !strings.Contains(body, `"size":`+strconv.FormatInt(size, 10)+`,`) || !strings.Contains(body, `"sha256":"`+sent+`"`) {
				t.Errorf("%s of %d bytes, SHA-256 %s: the server recorded %s", op, size, sent, body)
			}
			var err error
			if id, err = lookup(body, "data.id"); err != nil {
				t.Fatal(err)
			}
		})
		if left := s.spooled(t); len(left) > 0 {
			t.Errorf("%s: temporary files left behind: %q", op, left)
		}
	}
	var got string
	peaks["download"] = measurePeakRSS(t, func() {
		req, err := http.NewRequest("GET", s.url+"/api/files/"+id+"/download/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = a.host
		req.Header.Set("Authorization", owner.cred)
		res, err := s.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		h := sha256.New()
		n, err := io.Copy(h, res.Body)
		if err != nil || res.StatusCode != http.StatusOK || n != size {
			t.Fatalf("download: status %d, %d bytes, %v", res.StatusCode, n, err)
		}
		got = hex.EncodeToString(h.Sum(nil))
	})
	if got != sent {
		t.Errorf("download: SHA-256 %s, want %s", got, sent)
	}
	for _, op := range []string{"upload", "upload, file first", "download"} {
		p := peaks[op]
		t.Logf("%d MB through HTTP, %s: %s", size>>20, op, p)
		if p.growth > maxUploadGrowth {
			t.Errorf("the %s of %d MB grew the peak resident memory by %.1f MB, want under %d MB",
				op, size>>20, float64(p.growth)/(1<<20), maxUploadGrowth>>20)
		}
	}
}

// waitSpooled waits until the one file in the spool folder holds size
// bytes.
func (s *fileStack) waitSpooled(size int64) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		entries, err := os.ReadDir(s.spool)
		if err != nil {
			return err
		}
		if len(entries) == 1 {
			if info, err := entries[0].Info(); err == nil && info.Size() == size {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the spool folder never held the whole file: %d entries", len(entries))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// writeUploadForm writes the upload form of a file of size generated
// bytes to mw and returns the file's SHA-256. With spooled, the file goes
// first, and the field follows once spooled returns.
func writeUploadForm(mw *multipart.Writer, project string, size int64, spooled func() error) (string, error) {
	if spooled == nil {
		if err := mw.WriteField("project", project); err != nil {
			return "", err
		}
	}
	w, err := mw.CreateFormFile("file", "big.bin")
	if err != nil {
		return "", err
	}
	h := sha256.New()
	rng := rand.NewChaCha8([32]byte{'t', 'a', 'r', 'u', 'v', 'i'})
	if _, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(rng, size)); err != nil {
		return "", err
	}
	if spooled != nil {
		if err := spooled(); err != nil {
			return "", err
		}
		if err := mw.WriteField("project", project); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), mw.Close()
}

// rssPeak is how much a call raised the process's peak resident memory.
type rssPeak struct {
	growth int64
	took   time.Duration
}

func (p rssPeak) String() string {
	return "peak RSS growth " + strconv.FormatFloat(float64(p.growth)/(1<<20), 'f', 1, 64) + " MB in " +
		p.took.Round(time.Millisecond).String()
}

// measurePeakRSS runs fn and returns how much it raised the process's peak
// resident set (VmHWM, reset first through /proc/self/clear_refs) above
// what the process held before.
func measurePeakRSS(t *testing.T, fn func()) rssPeak {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory() // so that memory fn reuses counts as growth
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Fatalf("reset the peak resident set: %v", err)
	}
	before := procStatusBytes(t, "VmRSS")
	start := time.Now()
	fn()
	return rssPeak{growth: procStatusBytes(t, "VmHWM") - before, took: time.Since(start)}
}

// procStatusBytes returns a "kB" field of /proc/self/status in bytes.
func procStatusBytes(t *testing.T, field string) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}
