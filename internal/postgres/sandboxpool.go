package postgres

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"taruvi"
)

// SandboxOptions configure the sandboxed door (DB.SandboxQuery and
// DB.SandboxExec). The zero value except Secret is the production setting.
type SandboxOptions struct {
	// Secret derives each tenant role's login password
	// (TARUVI_SECRET_KEY). Empty turns the sandboxed door off: its calls
	// fail with an internal error.
	Secret []byte
	// MaxPools bounds the tenant pools open at once; when a new tenant
	// needs one, the least recently used idle pool closes (or, all being
	// in use, the call waits for one to go idle). 0 means 16, so that with
	// two connections each the door holds at most 32 connections of the
	// server's max_connections (100 by default) per process.
	MaxPools int
	// ConnsPerPool is the size of each tenant's pool; 0 means 2.
	ConnsPerPool int32
	// IdleTimeout closes a tenant connection idle that long, and a pool
	// idle twice that long. 0 means one minute.
	IdleTimeout time.Duration
}

// sandbox holds the tenant pools of the sandboxed door: one small pool per
// tenant that recently ran SQL of its own, each connecting as the tenant's
// role.
type sandbox struct {
	base     *pgxpool.Config // the platform's settings: host, port, database, TLS
	platform *pgxpool.Pool   // heals tenant logins (ALTER ROLE)
	secret   []byte
	maxPools int
	conns    int32
	idle     time.Duration
	now      func() time.Time

	mu     sync.Mutex
	pools  map[string]*tenantPool // by role
	freed  chan struct{}          // closed when a pool goes idle
	closed bool
}

// tenantPool is one tenant's pool and who uses it.
type tenantPool struct {
	pool     *pgxpool.Pool
	schema   string
	users    int       // calls holding the pool (sandbox.mu)
	lastUsed time.Time // when the last call let go of it (sandbox.mu)
	healing  sync.Mutex
}

// sandboxStatementTimeout is the statement_timeout a tenant connection
// starts with, so that nothing on it runs longer than this even outside
// the SET LOCAL of a call.
const sandboxStatementTimeout = "60s"

func newSandbox(base *pgxpool.Config, platform *pgxpool.Pool, opts SandboxOptions) *sandbox {
	s := &sandbox{base: base, platform: platform, secret: opts.Secret, maxPools: opts.MaxPools,
		conns: opts.ConnsPerPool, idle: opts.IdleTimeout, now: time.Now, pools: map[string]*tenantPool{},
		freed: make(chan struct{})}
	if s.maxPools <= 0 {
		s.maxPools = 16
	}
	if s.conns <= 0 {
		s.conns = 2
	}
	if s.idle <= 0 {
		s.idle = time.Minute
	}
	return s
}

// acquire takes a connection of the tenant's pool, opening the pool if
// need be, and turns on the tenant role's login when the server refuses it
// (a tenant provisioned before the sandboxed door, or a rotated secret).
// release gives the connection back.
func (s *sandbox) acquire(ctx context.Context, t *taruvi.Tenant) (conn *pgxpool.Conn, release func(), err error) {
	if len(s.secret) == 0 {
		return nil, nil, errors.New("postgres: the sandboxed door has no secret (Options.Sandbox.Secret)")
	}
	p, err := s.pool(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	letGo := func() {
		s.mu.Lock()
		p.users--
		p.lastUsed = s.now()
		if p.users == 0 {
			close(s.freed)
			s.freed = make(chan struct{})
		}
		s.mu.Unlock()
	}
	conn, err = p.pool.Acquire(ctx)
	if err != nil && loginRefused(err) {
		conn, err = p.heal(ctx, s, t)
	}
	if err != nil {
		letGo()
		return nil, nil, fmt.Errorf("connect as tenant %s: %w", t.Schema, err)
	}
	return conn, func() { conn.Release(); letGo() }, nil
}

// pool returns the tenant's pool, counting one more user, after closing
// pools idle for long and, when the limit is reached, the least recently
// used idle pool. While every pool is in use and none may be added, it
// waits for one to go idle, as long as ctx allows.
func (s *sandbox) pool(ctx context.Context, t *taruvi.Tenant) (*tenantPool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.closed {
			return nil, errors.New("postgres: the database is closed")
		}
		if p := s.pools[t.Role]; p != nil && p.schema == t.Schema {
			p.users++
			return p, nil
		}
		if s.makeRoom(t.Role) {
			break
		}
		freed := s.freed
		s.mu.Unlock()
		select {
		case <-freed:
			s.mu.Lock()
		case <-ctx.Done():
			s.mu.Lock()
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, &taruvi.Error{Code: taruvi.EUNAVAILABLE, Message: "Too many tenants run SQL at this moment; try again.",
					Wrapped: ctx.Err()}
			}
			return nil, fmt.Errorf("wait for a sandbox pool: %w", ctx.Err())
		}
	}
	now := s.now()
	pool, err := pgxpool.NewWithConfig(context.Background(), s.config(t))
	if err != nil {
		return nil, fmt.Errorf("tenant pool of %s: %w", t.Schema, err)
	}
	p := &tenantPool{pool: pool, schema: t.Schema, users: 1, lastUsed: now}
	s.pools[t.Role] = p
	return p, nil
}

// makeRoom closes the pools idle for long and, when no more pools may be
// open, the least recently used idle one; it reports whether a pool for
// role may open. s.mu is held.
func (s *sandbox) makeRoom(role string) bool {
	now := s.now()
	var lru string
	for r, p := range s.pools {
		if p.users > 0 {
			continue
		}
		if now.Sub(p.lastUsed) > 2*s.idle || r == role {
			s.drop(r)
		} else if lru == "" || p.lastUsed.Before(s.pools[lru].lastUsed) {
			lru = r
		}
	}
	if len(s.pools) < s.maxPools {
		return true
	}
	if lru == "" {
		return false
	}
	s.drop(lru)
	return true
}

// drop forgets the pool of role and closes it in the background, as Close
// waits for the connections in use (an idle pool has none; a deleted
// tenant's are ended by the server). s.mu is held.
func (s *sandbox) drop(role string) {
	if p := s.pools[role]; p != nil {
		delete(s.pools, role)
		go p.pool.Close()
	}
}

// config is the pool configuration of tenant t: the platform's server and
// database, the tenant role and its password, and session settings that
// pin the tenant's schema. Statements are described on every execution
// and never cached, so no named prepared statement outlives a call.
func (s *sandbox) config(t *taruvi.Tenant) *pgxpool.Config {
	cfg := s.base.Copy()
	cc := cfg.ConnConfig
	cc.User = t.Role
	cc.Password = sandboxPassword(s.secret, t.Role)
	cc.Tracer = nil
	cc.RuntimeParams = map[string]string{
		"search_path":                         pgx.Identifier{t.Schema}.Sanitize(),
		"application_name":                    "taruvi sandbox",
		"statement_timeout":                   sandboxStatementTimeout,
		"idle_in_transaction_session_timeout": sandboxStatementTimeout,
	}
	cc.DefaultQueryExecMode = pgx.QueryExecModeDescribeExec
	cc.StatementCacheCapacity = 0
	cc.DescriptionCacheCapacity = 0
	cfg.MaxConns = s.conns
	cfg.MinConns = 0
	cfg.MaxConnIdleTime = s.idle
	cfg.MaxConnLifetime = 30 * time.Minute
	cfg.BeforeConnect, cfg.AfterConnect, cfg.PrepareConn, cfg.AfterRelease, cfg.BeforeClose = nil, nil, nil, nil, nil
	return cfg
}

// heal turns the tenant's login on and connects again. Calls refused at
// once heal one at a time, since concurrent ALTER ROLEs of one role fail
// ("tuple concurrently updated"); those after the first find the login
// healed.
func (p *tenantPool) heal(ctx context.Context, s *sandbox, t *taruvi.Tenant) (*pgxpool.Conn, error) {
	p.healing.Lock()
	defer p.healing.Unlock()
	conn, err := p.pool.Acquire(ctx)
	if err == nil || !loginRefused(err) {
		return conn, err
	}
	if err := s.enableLogin(ctx, t); err != nil {
		return nil, err
	}
	return p.pool.Acquire(ctx)
}

// loginRefused reports whether err is the server refusing a login: a
// wrong password (28P01) or a role without LOGIN (28000).
func loginRefused(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "28P01" || pgErr.Code == "28000")
}

// enableLogin gives the tenant's role LOGIN and the password derived from
// the secret, as the platform's connecting user, if the tenant exists and
// is active. The password travels as a SCRAM verifier computed here, so
// that not even a server logging every statement sees it.
func (s *sandbox) enableLogin(ctx context.Context, t *taruvi.Tenant) error {
	var ok bool
	err := s.platform.QueryRow(ctx, `SELECT EXISTS (SELECT FROM public.tenants
		WHERE role_name = $1 AND schema_name = $2 AND status = 'active')`, t.Role, t.Schema).Scan(&ok)
	if err != nil {
		return fmt.Errorf("find tenant %s: %w", t.Schema, err)
	}
	if !ok {
		return taruvi.Errorf(taruvi.ENOTFOUND, "Tenant not found.")
	}
	verifier, err := scramVerifier(sandboxPassword(s.secret, t.Role))
	if err != nil {
		return err
	}
	_, err = s.platform.Exec(ctx, "ALTER ROLE "+pgx.Identifier{t.Role}.Sanitize()+" LOGIN PASSWORD "+sqlLiteral(verifier))
	if err != nil {
		return fmt.Errorf("enable login of tenant %s: %w", t.Schema, err)
	}
	return nil
}

// closeTenant forgets the pool of role and closes it in the background: a
// tenant being deleted, whose sessions DeleteTenant ends, in use or not.
func (s *sandbox) closeTenant(role string) {
	s.mu.Lock()
	s.drop(role)
	s.mu.Unlock()
}

// close closes every tenant pool; later calls fail.
func (s *sandbox) close() {
	s.mu.Lock()
	pools := s.pools
	s.pools, s.closed = map[string]*tenantPool{}, true
	s.mu.Unlock()
	for _, p := range pools {
		p.pool.Close()
	}
}

// sandboxPassword is the login password of a tenant role:
// HMAC-SHA256(secret, "taruvi sandbox "+role) in hex. Every replica
// derives the same one, and a new secret gives every role a new one.
func sandboxPassword(secret []byte, role string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("taruvi sandbox " + role))
	return hex.EncodeToString(m.Sum(nil))
}

// scramVerifier returns the SCRAM-SHA-256 verifier PostgreSQL stores for
// password (RFC 5802, RFC 7677), with a fresh salt, as psql's \password
// computes it.
func scramVerifier(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	return scramVerifierSalted(password, salt, 4096)
}

func scramVerifierSalted(password string, salt []byte, iterations int) (string, error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return "", err
	}
	mac := func(key []byte, msg string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	stored := sha256.Sum256(mac(salted, "Client Key"))
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, b64(salt), b64(stored[:]), b64(mac(salted, "Server Key"))), nil
}
