package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/smtp"
	"net/url"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"taruvi"
)

// Mailer sends one email.
type Mailer interface {
	Send(ctx context.Context, e *taruvi.Email) error
}

// SMTP sends email through an SMTP server, with STARTTLS when the server
// offers it and PLAIN authentication when the URL has a user.
type SMTP struct {
	addr string
	auth smtp.Auth
	from string
}

// NewSMTP reads an smtp://[user:password@]host[:port]?from=address URL
// (TARUVI_SMTP_URL). The port defaults to 587.
func NewSMTP(rawURL string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "smtp" || u.Hostname() == "" {
		return nil, fmt.Errorf("want smtp://[user:password@]host[:port]?from=address")
	}
	from := u.Query().Get("from")
	if from == "" || strings.ContainsAny(from, "\r\n") {
		return nil, fmt.Errorf("name the sender: smtp://host:port?from=noreply@example.com")
	}
	port := u.Port()
	if port == "" {
		port = "587"
	}
	s := &SMTP{addr: net.JoinHostPort(u.Hostname(), port), from: from}
	if u.User != nil {
		pass, _ := u.User.Password()
		s.auth = smtp.PlainAuth("", u.User.Username(), pass, u.Hostname())
	}
	return s, nil
}

// Send implements Mailer.
func (s *SMTP) Send(ctx context.Context, e *taruvi.Email) error {
	for _, v := range []string{e.To, e.Subject} {
		if strings.ContainsAny(v, "\r\n") {
			return river.JobCancel(fmt.Errorf("header value with a line break"))
		}
	}
	msg := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s",
		s.from, e.To, e.Subject, time.Now().UTC().Format(time.RFC1123Z), strings.ReplaceAll(e.Body, "\n", "\r\n"))
	done := make(chan error, 1)
	go func() { done <- smtp.SendMail(s.addr, s.auth, s.from, []string{e.To}, []byte(msg)) }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("smtp %s: %w", s.addr, err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// mailer delivers through SMTP when configured, else to the tenant's
// outbox; both are logged (addresses and subjects, never bodies).
type mailer struct {
	smtp   Mailer
	outbox OutboxStore
	log    *slog.Logger
}

func (m *mailer) deliver(ctx context.Context, e *taruvi.Email) error {
	tenant := ""
	if t := taruvi.TenantFromContext(ctx); t != nil {
		tenant = t.Schema
	}
	if m.smtp != nil {
		if err := m.smtp.Send(ctx, e); err != nil {
			return err
		}
		m.log.InfoContext(ctx, "email sent", "tenant", tenant, "to", e.To, "subject", e.Subject)
		return nil
	}
	if err := m.outbox.SaveEmail(ctx, e); err != nil {
		return err
	}
	m.log.InfoContext(ctx, "email kept in outbox (no SMTP configured)", "tenant", tenant, "to", e.To,
		"subject", e.Subject, "outbox_id", e.ID)
	return nil
}

// sendEmailWorker works send_email jobs.
type sendEmailWorker struct {
	river.WorkerDefaults[taruvi.SendEmailArgs]
	mail *mailer
}

func (w *sendEmailWorker) Work(ctx context.Context, job *river.Job[taruvi.SendEmailArgs]) error {
	a := job.Args
	return w.mail.deliver(ctx, &taruvi.Email{To: a.To, Subject: a.Subject, Body: a.Body, JobID: &job.ID})
}

// taskAssignedWorker tells a task's assignee, if the task is still
// assigned to them when the job runs.
type taskAssignedWorker struct {
	river.WorkerDefaults[taruvi.TaskAssignedArgs]
	mail   *mailer
	outbox OutboxStore
}

func (w *taskAssignedWorker) Work(ctx context.Context, job *river.Job[taruvi.TaskAssignedArgs]) error {
	e, err := w.outbox.TaskAssignmentEmail(ctx, job.Args.TaskID, job.Args.AssigneeID)
	if taruvi.ErrorCode(err) == taruvi.ENOTFOUND {
		return nil // reassigned or deleted since: nothing to tell
	} else if err != nil {
		return err
	}
	e.JobID = &job.ID
	return w.mail.deliver(ctx, e)
}
