package jobs_test

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"

	"taruvi"
	"taruvi/internal/jobs"
)

// fakeSMTP accepts one message on a loopback port and sends its DATA on
// the returned channel.
func fakeSMTP(t *testing.T) (string, <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		say := func(s string) { _, _ = conn.Write([]byte(s + "\r\n")) }
		say("220 fake ESMTP")
		var data strings.Builder
		inData := false
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch {
			case inData && line == ".\r\n":
				inData = false
				got <- data.String()
				say("250 queued")
			case inData:
				data.WriteString(line)
			case strings.HasPrefix(line, "EHLO"), strings.HasPrefix(line, "HELO"):
				say("250 fake")
			case strings.HasPrefix(line, "DATA"):
				inData = true
				say("354 go on")
			case strings.HasPrefix(line, "QUIT"):
				say("221 bye")
				return
			default:
				say("250 ok")
			}
		}
	}()
	return ln.Addr().String(), got
}

func TestSMTPSend(t *testing.T) {
	t.Parallel()
	addr, got := fakeSMTP(t)
	s, err := jobs.NewSMTP("smtp://" + addr + "?from=noreply@taruvi.test")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), &taruvi.Email{To: "ann@example.test", Subject: "Welcome to Acme", Body: "Hello\nthere"}); err != nil {
		t.Fatal(err)
	}
	msg := <-got
	for _, want := range []string{"From: noreply@taruvi.test\r\n", "To: ann@example.test\r\n", "Subject: Welcome to Acme\r\n", "\r\n\r\nHello\r\nthere"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if err := s.Send(context.Background(), &taruvi.Email{To: "ann@example.test", Subject: "x\r\nBcc: eve@example.test"}); err == nil {
		t.Error("a subject with a line break was sent")
	}
}

func TestNewSMTPRefusesBadURLs(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"http://mail.example.test?from=a@b.c", "smtp://mail.example.test", "smtp://?from=a@b.c", "smtp://h?from=a%0d%0ab"} {
		if _, err := jobs.NewSMTP(u); err == nil {
			t.Errorf("NewSMTP(%q) succeeded", u)
		}
	}
}
