package blob_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// serveEnv, set in the environment of this test binary, makes it an S3
// server rather than run tests: see fakeS3Process.
const serveEnv = "TARUVI_BLOB_TEST_SERVE_S3"

func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) == "1" {
		if err := serveS3(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serveS3 serves gofakes3 on a free port, with the test bucket, prints its
// URL and serves until its standard input closes (the parent is gone).
func serveS3() error {
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("http://%s\n", ln.Addr())
	go http.Serve(ln, gofakes3.New(backend).Server()) // ends with the process
	_, err = io.Copy(io.Discard, os.Stdin)
	return err
}

// fakeS3Process runs the S3 server of fakeS3 in a child process and
// returns its URL. The memory the server uses (gofakes3 keeps objects and
// parts in memory) is then not in this process, whose memory the streaming
// test measures.
func fakeS3Process(t *testing.T) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serveEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("S3 server process: %v", err)
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("S3 server process: %v", err)
	}
	return strings.TrimSpace(line)
}
