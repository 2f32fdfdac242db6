package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	goredis "github.com/redis/go-redis/v9"
)

// Client is the connection to Redis shared by the cache and the rate
// limiter. Redis is optional at run time: after a failed command the client
// counts as down, every user falls back to its in-process tier without
// waiting on Redis again, and Watch brings it back once Redis answers.
type Client struct {
	rdb     *goredis.Client
	limiter *redis_rate.Limiter
	log     *slog.Logger
	up      atomic.Bool
}

// Open connects to the Redis at url (redis:// or rediss://). A Redis that
// does not answer yet is not an error: the client starts down.
func Open(ctx context.Context, url string, log *slog.Logger) (*Client, error) {
	opts, err := goredis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parse Redis URL: %w", err)
	}
	// Short timeouts: a slow Redis must cost a request milliseconds, then
	// the in-process tier answers.
	opts.DialTimeout = 500 * time.Millisecond
	opts.ReadTimeout = 300 * time.Millisecond
	opts.WriteTimeout = 300 * time.Millisecond
	opts.MaxRetries = 0
	opts.PoolTimeout = 500 * time.Millisecond
	quietOnce.Do(func() {
		// go-redis prints every failed dial; the client logs the change of
		// state once instead.
		goredis.SetLogger(quietLogger{})
	})
	rdb := goredis.NewClient(opts)
	c := &Client{rdb: rdb, limiter: redis_rate.NewLimiter(rdb), log: log}
	if err := rdb.Ping(ctx).Err(); err != nil {
		log.Warn("Redis does not answer; cache and rate limits in process until it does", "error", err)
	} else {
		c.up.Store(true)
	}
	return c, nil
}

var quietOnce sync.Once

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// Close closes the connections.
func (c *Client) Close() error { return c.rdb.Close() }

// Available reports whether Redis answered the last command.
func (c *Client) Available() bool { return c.up.Load() }

// Ping checks Redis now, for health checks, and records the answer.
func (c *Client) Ping(ctx context.Context) error {
	err := c.rdb.Ping(ctx).Err()
	c.record(err)
	return err
}

// Watch pings Redis every interval until ctx ends, so that a client marked
// down comes back when Redis does.
func (c *Client) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			pingCtx, cancel := context.WithTimeout(ctx, time.Second)
			_ = c.Ping(pingCtx)
			cancel()
		}
	}
}

// record marks the client up or down after a command, logging changes.
// A cache miss (redis.Nil) and a cancelled caller say nothing about Redis.
func (c *Client) record(err error) {
	if errors.Is(err, goredis.Nil) || errors.Is(err, context.Canceled) {
		return
	}
	up := err == nil
	if c.up.Swap(up) != up {
		if up {
			c.log.Info("Redis is back; cache and rate limits shared again")
		} else {
			c.log.Warn("Redis failed; cache and rate limits in process until it returns", "error", err)
		}
	}
}

// Get returns the value at key; found is false for a missing key.
func (c *Client) Get(ctx context.Context, key string) (value []byte, found bool, err error) {
	value, err = c.rdb.Get(ctx, key).Bytes()
	c.record(err)
	if errors.Is(err, goredis.Nil) {
		return nil, false, nil
	}
	return value, err == nil, err
}

// Set stores value at key for ttl.
func (c *Client) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	err := c.rdb.Set(ctx, key, value, ttl).Err()
	c.record(err)
	return err
}

// SetNX stores value at key for ttl unless key exists, and returns the
// value key holds afterwards.
func (c *Client) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) ([]byte, error) {
	v, err := c.rdb.SetArgs(ctx, key, value, goredis.SetArgs{Mode: "NX", Get: true, TTL: ttl}).Bytes()
	c.record(err)
	if errors.Is(err, goredis.Nil) {
		return value, nil // it was not set before: ours is
	}
	return v, err
}
