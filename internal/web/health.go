package web

import (
	"context"
	"net/http"
	"sync"
	"time"

	"taruvi"
)

// Health statuses of one check and of the whole.
const (
	HealthOK            = "ok"
	HealthDegraded      = "degraded"       // working with reduced means (Redis away: in-process cache)
	HealthDown          = "down"           // failing: /health/ answers 503
	HealthNotConfigured = "not configured" // the dependency is not used in this deployment
)

// HealthCheck is one dependency that /health/ reports on.
type HealthCheck struct {
	Name string
	// Check reports the dependency's status (a Health constant) and facts
	// worth showing (queue depth, the store in use). Its context ends
	// after healthTimeout.
	Check func(ctx context.Context) HealthResult
}

// HealthResult is one check's part of the /health/ report.
type HealthResult struct {
	Status    string         `json:"status"`
	LatencyMS float64        `json:"latency_ms"`
	Detail    map[string]any `json:"detail,omitempty"`
	Error     string         `json:"error,omitempty"`
}

// HealthReport is the body of GET /health/.
type HealthReport struct {
	Status  string                  `json:"status"`
	Version string                  `json:"version"`
	Checks  map[string]HealthResult `json:"checks"`
}

const healthTimeout = 3 * time.Second

// SetDraining makes /health/ready answer 503 from now on, so that load
// balancers stop sending new requests while those in flight finish.
func (s *Server) SetDraining(draining bool) { s.draining.Store(draining) }

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) error {
	if s.draining.Load() {
		WriteJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "draining", "ready": false})
		return nil
	}
	WriteJSON(w, http.StatusOK, map[string]any{"status": "ready", "ready": true})
	return nil
}

// handleHealth runs every check at once and answers 200 when none is down
// (a degraded dependency still serves), 503 otherwise.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	report := HealthReport{Status: HealthOK, Version: taruvi.Version, Checks: map[string]HealthResult{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range s.cfg.Health {
		wg.Go(func() {
			start := time.Now()
			res := c.Check(ctx)
			res.LatencyMS = float64(time.Since(start).Microseconds()) / 1000
			mu.Lock()
			report.Checks[c.Name] = res
			mu.Unlock()
		})
	}
	wg.Wait()
	if s.draining.Load() {
		report.Status = "draining"
	}
	for _, res := range report.Checks {
		switch {
		case res.Status == HealthDown:
			report.Status = HealthDown
		case res.Status == HealthDegraded && report.Status == HealthOK:
			report.Status = HealthDegraded
		}
	}
	status := http.StatusOK
	if report.Status == HealthDown {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, status, report)
	return nil
}

// CheckResult turns an error into a result: nil is ok, anything else down.
func CheckResult(err error, detail map[string]any) HealthResult {
	if err != nil {
		return HealthResult{Status: HealthDown, Error: err.Error(), Detail: detail}
	}
	return HealthResult{Status: HealthOK, Detail: detail}
}
