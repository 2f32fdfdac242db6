package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
)

// The feed's channels. Each carries some kinds of taruvi.Change in its own
// payload format, which Feed decodes; the formats are kept because
// triggers and transactions already in the database send them.
const (
	// TenancyChannel: triggers on public.tenants and public.domains send
	// the table's name (migrations/public/0001_platform.sql);
	// taruvi.ChangeTenancy.
	TenancyChannel = "taruvi_tenancy"
	// RevocationsChannel: the transactions that end sessions, change users
	// or delete tenants send "s|<scope>|<session id>"
	// (taruvi.ChangeSessionRevoked), "u|<scope>|<user id>"
	// (taruvi.ChangeUserChanged) or "t|<scope>" (taruvi.ChangeDeleted).
	RevocationsChannel = "taruvi_revocations"
	// ChangesChannel: "<origin>:<scope>,<scope>,...", the tenants a
	// process wrote to (taruvi.ChangeWritten), batched; origin names the
	// sending process, which acted on its own writes already.
	ChangesChannel = "taruvi_changes"
	// CacheChannel: "<scope>|<namespace>|<generation>"
	// (taruvi.ChangeInvalidated).
	CacheChannel = "taruvi_cache"
)

// feedChannels are the channels the feed listens on.
var feedChannels = []string{TenancyChannel, RevocationsChannel, ChangesChannel, CacheChannel}

// publishInterval is how often a feed tells the other processes which
// tenants this one wrote to.
const publishInterval = 20 * time.Millisecond

// Feed is the change feed of one process (taruvi.ChangeFeed): every cache
// of tenant data subscribes to it when it is made, and hears from it every
// change, made here or in any other process over the same database. Open
// makes one per DB, and the DB's read cache is its first subscriber.
//
// A committed write of this process (a scope that wrote, DB.InTenant)
// reaches the subscribers at once, on the goroutine that made it, and the
// other processes every publishInterval, in as few notifications as fit.
// Every other change comes through PostgreSQL's LISTEN/NOTIFY on
// feedChannels, on the goroutine of Run, to every process, the one that
// made it included (which applies its deletions and revocations to the
// read and session caches itself as soon as they commit). After every
// (re)connection of its listener the feed sends taruvi.ChangeReset, since
// changes may have been missed meanwhile.
type Feed struct {
	db     *DB
	origin string // names this process in ChangesChannel payloads

	subMu sync.Mutex                            // serializes Subscribe
	subs  atomic.Pointer[[]func(taruvi.Change)] // copied on write: read on every write

	mu      sync.Mutex
	pending map[string]bool // scopes written here, not yet published

	running   atomic.Bool
	ready     chan struct{} // closed once the listener first listens
	readyOnce sync.Once
}

var _ taruvi.ChangeFeed = (*Feed)(nil)

func newFeed(db *DB) *Feed {
	f := &Feed{db: db, origin: rand.Text()[:12], pending: map[string]bool{}, ready: make(chan struct{})}
	f.subs.Store(&[]func(taruvi.Change){})
	return f
}

// Feed returns db's change feed.
func (db *DB) Feed() *Feed { return db.feed }

// Subscribe implements taruvi.ChangeFeed.
func (f *Feed) Subscribe(fn func(taruvi.Change)) {
	f.subMu.Lock()
	defer f.subMu.Unlock()
	subs := append(slices.Clip(*f.subs.Load()), fn)
	f.subs.Store(&subs)
}

// deliver tells every subscriber of c.
func (f *Feed) deliver(c taruvi.Change) {
	for _, fn := range *f.subs.Load() {
		fn(c)
	}
}

// wrote tells every subscriber that a transaction of this process wrote to
// scope and committed, and the other processes within publishInterval.
func (f *Feed) wrote(scope string) {
	f.deliver(taruvi.Change{Kind: taruvi.ChangeWritten, Scope: scope})
	f.mu.Lock()
	f.pending[scope] = true
	f.mu.Unlock()
}

// Publish implements taruvi.ChangeFeed.
func (f *Feed) Publish(ctx context.Context, c taruvi.Change) error {
	channel, payload, err := encodeChange(c)
	if err != nil {
		return err
	}
	if _, err := f.db.pool.Exec(ctx, "SELECT pg_notify($1, $2)", channel, payload); err != nil {
		return fmt.Errorf("publish %s change: %w", c.Kind, err)
	}
	return nil
}

// encodeChange returns the channel and payload that carry c. A write
// published this way names no process, so every one hears it, this one
// included.
func encodeChange(c taruvi.Change) (channel, payload string, err error) {
	for _, s := range []string{c.Scope, c.Key, c.Value} {
		if strings.ContainsAny(s, "|,:") {
			return "", "", fmt.Errorf("publish %s change: %q holds a separator", c.Kind, s)
		}
	}
	switch c.Kind {
	case taruvi.ChangeTenancy:
		return TenancyChannel, "published", nil
	case taruvi.ChangeWritten:
		return ChangesChannel, ":" + c.Scope, nil
	case taruvi.ChangeDeleted:
		return RevocationsChannel, "t|" + c.Scope, nil
	case taruvi.ChangeSessionRevoked:
		return RevocationsChannel, "s|" + c.Scope + "|" + c.Key, nil
	case taruvi.ChangeUserChanged:
		return RevocationsChannel, "u|" + c.Scope + "|" + c.Key, nil
	case taruvi.ChangeInvalidated:
		return CacheChannel, c.Scope + "|" + c.Key + "|" + c.Value, nil
	}
	return "", "", fmt.Errorf("publish %q change: not a kind that travels", c.Kind)
}

// decodeChanges returns the changes a notification carries; origin is the
// receiving process's, whose own writes it acted on already.
func decodeChanges(channel, payload, origin string) []taruvi.Change {
	switch channel {
	case TenancyChannel:
		return []taruvi.Change{{Kind: taruvi.ChangeTenancy}}
	case RevocationsChannel:
		kind, rest, _ := strings.Cut(payload, "|")
		scope, key, _ := strings.Cut(rest, "|")
		switch {
		case kind == "t" && scope != "":
			return []taruvi.Change{{Kind: taruvi.ChangeDeleted, Scope: scope}}
		case kind == "s" && key != "":
			return []taruvi.Change{{Kind: taruvi.ChangeSessionRevoked, Scope: scope, Key: key}}
		case kind == "u" && key != "":
			return []taruvi.Change{{Kind: taruvi.ChangeUserChanged, Scope: scope, Key: key}}
		}
	case ChangesChannel:
		from, scopes, _ := strings.Cut(payload, ":")
		if from == origin {
			return nil
		}
		var changes []taruvi.Change
		for s := range strings.SplitSeq(scopes, ",") {
			if s != "" {
				changes = append(changes, taruvi.Change{Kind: taruvi.ChangeWritten, Scope: s})
			}
		}
		return changes
	case CacheChannel:
		parts := strings.Split(payload, "|")
		if len(parts) == 3 {
			return []taruvi.Change{{Kind: taruvi.ChangeInvalidated, Scope: parts[0], Key: parts[1], Value: parts[2]}}
		}
	}
	return nil
}

// Ready is closed once the feed first listens: from then on no change of
// another process is missed, or a taruvi.ChangeReset says it may have been.
func (f *Feed) Ready() <-chan struct{} { return f.ready }

// Run listens for the changes of other processes and publishes this one's
// writes until ctx ends, then publishes what is left. It holds one
// connection of its own, reconnecting after a second when it loses it. A
// feed runs once: start it after its subscribers are made.
func (f *Feed) Run(ctx context.Context, log *slog.Logger) error {
	if !f.running.CompareAndSwap(false, true) {
		return errors.New("postgres: the change feed runs already")
	}
	var wg sync.WaitGroup
	wg.Go(func() { f.publishEvery(ctx, log, publishInterval) })
	defer wg.Wait()
	for ctx.Err() == nil {
		err := f.listen(ctx)
		if ctx.Err() != nil {
			break
		}
		log.Warn("change feed lost its connection; retrying", "error", err)
		f.deliver(taruvi.Change{Kind: taruvi.ChangeReset})
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

// listen listens on one connection until it fails or ctx ends.
func (f *Feed) listen(ctx context.Context) error {
	conn, err := f.db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// LISTEN binds the session: this connection never goes back to the pool.
	pgConn := conn.Hijack()
	defer pgConn.Close(context.Background())
	for _, channel := range feedChannels {
		if _, err := pgConn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
			return fmt.Errorf("listen %s: %w", channel, err)
		}
	}
	f.deliver(taruvi.Change{Kind: taruvi.ChangeReset})
	f.readyOnce.Do(func() { close(f.ready) })
	for {
		n, err := pgConn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		for _, c := range decodeChanges(n.Channel, n.Payload, f.origin) {
			f.deliver(c)
		}
	}
}

// publishEvery tells other processes, every interval until ctx ends, which
// tenants this one wrote to. Writes never wait for it: a NOTIFY inside a
// write transaction would serialize every commit on the notification
// queue's lock.
func (f *Feed) publishEvery(ctx context.Context, log *slog.Logger, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			f.publishPending(context.WithoutCancel(ctx), log)
			return
		case <-tick.C:
			f.publishPending(ctx, log)
		}
	}
}

func (f *Feed) publishPending(ctx context.Context, log *slog.Logger) {
	for _, payload := range f.takePending() {
		if _, err := f.db.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, ChangesChannel, payload); err != nil {
			// Other processes forget what they read within their caches'
			// time to live anyway.
			log.Warn("publish changed tenants", "error", err)
		}
	}
}

// takePending returns the written scopes not yet published, as payloads
// short enough for NOTIFY (8000 bytes).
func (f *Feed) takePending() []string {
	f.mu.Lock()
	scopes := make([]string, 0, len(f.pending))
	for s := range f.pending {
		scopes = append(scopes, s)
	}
	clear(f.pending)
	f.mu.Unlock()
	slices.Sort(scopes)
	var payloads []string
	var b strings.Builder
	for _, s := range scopes {
		if b.Len()+len(s)+1 > 7000 {
			payloads = append(payloads, b.String())
			b.Reset()
		}
		if b.Len() == 0 {
			b.WriteString(f.origin + ":")
		} else {
			b.WriteByte(',')
		}
		b.WriteString(s)
	}
	if b.Len() > 0 {
		payloads = append(payloads, b.String())
	}
	return payloads
}

// RevocationSubscriber adapts a session cache that reads RevocationsChannel
// payloads to the feed: handle gets "s|<scope>|<session id>",
// "u|<scope>|<user id>" and "t|<scope>" for the session, user and tenant
// changes, wherever they were made, and reset runs on taruvi.ChangeReset.
func RevocationSubscriber(handle func(payload string), reset func()) func(taruvi.Change) {
	return func(c taruvi.Change) {
		switch c.Kind {
		case taruvi.ChangeSessionRevoked:
			handle("s|" + c.Scope + "|" + c.Key)
		case taruvi.ChangeUserChanged:
			handle("u|" + c.Scope + "|" + c.Key)
		case taruvi.ChangeDeleted:
			handle("t|" + c.Scope)
		case taruvi.ChangeReset:
			reset()
		}
	}
}
