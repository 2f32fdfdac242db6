// Package metrics exposes the platform's Prometheus series, all prefixed
// taruvi_. Labels are route patterns, classes, kinds and outcomes, never
// tenants, users or raw paths, so the number of series stays bounded
// whatever the traffic.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one process's registry and the series the platform updates.
type Metrics struct {
	registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	cache       *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
	jobs        *prometheus.CounterVec
	jobDuration *prometheus.HistogramVec
}

// New returns a registry with the Go runtime and process collectors and the
// platform's series.
func New() *Metrics {
	m := &Metrics{registry: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "taruvi_http_requests_total",
		Help: "HTTP requests by route pattern, method and status."}, []string{"route", "method", "status"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "taruvi_http_request_duration_seconds",
		Help:    "HTTP request latency by route pattern and method.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"route", "method"})
	m.cache = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "taruvi_cache_requests_total",
		Help: "Cache lookups by cache, tier and result (hit or miss)."}, []string{"cache", "tier", "result"})
	m.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "taruvi_rate_limit_rejections_total",
		Help: "Requests refused with 429 by route class and the limit that refused them (ip, user, tenant)."}, []string{"class", "scope"})
	m.jobs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "taruvi_jobs_total",
		Help: "Background jobs finished by kind and outcome (completed, failed, cancelled, ...)."}, []string{"kind", "outcome"})
	m.jobDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "taruvi_job_duration_seconds",
		Help: "Background job run time by kind.", Buckets: prometheus.DefBuckets}, []string{"kind"})
	m.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.duration, m.cache, m.rateLimited, m.jobs, m.jobDuration)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// ObserveRequest counts one HTTP request of a route pattern.
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route, method).Observe(d.Seconds())
}

// RateLimited counts one request refused by a rate limit.
func (m *Metrics) RateLimited(class, scope string) { m.rateLimited.WithLabelValues(class, scope).Inc() }

// CacheLookup counts one lookup in a cache tier ("memory", "redis").
func (m *Metrics) CacheLookup(cache, tier string, hit bool) {
	result := "miss"
	if hit {
		result = "hit"
	}
	m.cache.WithLabelValues(cache, tier, result).Inc()
}

// JobFinished counts one job run of kind with its outcome and run time.
// The jobs package calls it from its worker middleware.
func (m *Metrics) JobFinished(kind, outcome string, d time.Duration) {
	m.jobs.WithLabelValues(kind, outcome).Inc()
	m.jobDuration.WithLabelValues(kind).Observe(d.Seconds())
}

// PoolStats is a snapshot of a database connection pool.
type PoolStats struct {
	Acquired, Idle, Total, Max int32
	Acquires, EmptyAcquires    int64 // EmptyAcquires had to wait for a connection
	AcquireWait                time.Duration
}

// WatchPool publishes the pool's state as taruvi_db_pool_* series, read at
// each scrape.
func (m *Metrics) WatchPool(stats func() PoolStats) {
	m.registry.MustRegister(&poolCollector{stats: stats})
}

// WatchTenants publishes taruvi_tenants, the number of tenants, counted at
// most once every ten seconds whatever the scrape rate.
func (m *Metrics) WatchTenants(count func(ctx context.Context) (int, error)) {
	var last float64
	var at time.Time
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "taruvi_tenants",
		Help: "Tenants of the installation."}, func() float64 {
		if time.Since(at) < 10*time.Second {
			return last
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if n, err := count(ctx); err == nil {
			last, at = float64(n), time.Now()
		}
		return last
	}))
}

var (
	poolConns = prometheus.NewDesc("taruvi_db_pool_connections", "Connections of the database pool by state.",
		[]string{"state"}, nil)
	poolMax      = prometheus.NewDesc("taruvi_db_pool_max_connections", "Largest size of the database pool.", nil, nil)
	poolAcquires = prometheus.NewDesc("taruvi_db_pool_acquires_total", "Connections acquired from the pool.", nil, nil)
	poolWaits    = prometheus.NewDesc("taruvi_db_pool_empty_acquires_total",
		"Acquires that waited because the pool had no idle connection.", nil, nil)
	poolWait = prometheus.NewDesc("taruvi_db_pool_acquire_wait_seconds_total", "Time spent acquiring connections.", nil, nil)
)

type poolCollector struct{ stats func() PoolStats }

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolConns, poolMax, poolAcquires, poolWaits, poolWait} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.Acquired), "acquired")
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.Idle), "idle")
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.Total), "total")
	ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(s.Max))
	ch <- prometheus.MustNewConstMetric(poolAcquires, prometheus.CounterValue, float64(s.Acquires))
	ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(s.EmptyAcquires))
	ch <- prometheus.MustNewConstMetric(poolWait, prometheus.CounterValue, s.AcquireWait.Seconds())
}
