package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// cpuMeter measures what a bench phase costs in CPU time, which a busy
// machine disturbs far less than it disturbs throughput: the time of this
// process (load generator and server) and of the PostgreSQL backends of
// the bench database, read from /proc when the database server runs on
// this machine.
type cpuMeter struct {
	conn *pgx.Conn
}

// cpuSample is the CPU time used so far by this process and by each
// backend of the bench database; pgKnown is false when the backends cannot
// be seen.
type cpuSample struct {
	self     time.Duration
	pgKnown  bool
	backends map[int]time.Duration
}

func newCPUMeter(ctx context.Context, url string) (*cpuMeter, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("cpu meter: %w", err)
	}
	return &cpuMeter{conn: conn}, nil
}

func (m *cpuMeter) close() { m.conn.Close(context.Background()) }

func (m *cpuMeter) sample(ctx context.Context) cpuSample {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	s := cpuSample{self: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), backends: map[int]time.Duration{}}
	rows, err := m.conn.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		return s
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil || len(pids) == 0 {
		return s
	}
	s.pgKnown = true
	for _, pid := range pids {
		d, ok := procCPU(int(pid))
		if !ok {
			s.pgKnown = false
			return s
		}
		s.backends[int(pid)] = d
	}
	return s
}

// since returns the CPU time spent between before and s: this process's
// and the backends' (a backend that appeared in between counts whole).
func (s cpuSample) since(before cpuSample) (self, pg time.Duration, pgKnown bool) {
	self = s.self - before.self
	if !s.pgKnown || !before.pgKnown {
		return self, 0, false
	}
	for pid, d := range s.backends {
		pg += d - before.backends[pid]
	}
	return self, pg, true
}

// procCPU reads the user and system time of a process from /proc.
func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The fields after the command name, which is in parentheses.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond, true
}

// cpuPerOp is the CPU time per operation in microseconds.
func cpuPerOp(d time.Duration, ops int) float64 {
	if ops == 0 {
		return 0
	}
	return round(float64(d.Microseconds())/float64(ops), 10)
}

// measure runs one bench phase and stores its CPU time per operation
// (*ops operations once run returns) in cpu and, when the backends can be
// seen, the PostgreSQL share in pgCPU.
func (m *cpuMeter) measure(ctx context.Context, run func() error, ops *int, cpu, pgCPU *float64) error {
	before := m.sample(ctx)
	if err := run(); err != nil {
		return err
	}
	self, pg, pgKnown := m.sample(ctx).since(before)
	*cpu = cpuPerOp(self+pg, *ops)
	if pgKnown {
		*pgCPU = cpuPerOp(pg, *ops)
	}
	return nil
}
