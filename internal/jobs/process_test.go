package jobs_test

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"taruvi"
	"taruvi/internal/jobs"
)

// startWorker runs the test binary again as a worker process (helperWorker)
// over the fixture's database, with the given shutdown timeout.
func (f *fixture) startWorker(t *testing.T, shutdown time.Duration) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TARUVI_JOBS_HELPER_URL="+f.url, "TARUVI_JOBS_HELPER_SHUTDOWN="+shutdown.String())
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

func (f *fixture) enqueueSleeps(t *testing.T, c *jobs.Client, sleeps ...time.Duration) []int64 {
	t.Helper()
	var args []taruvi.JobArgs
	for _, d := range sleeps {
		args = append(args, sleepArgs{Sleep: d})
	}
	ids, err := c.Enqueue(context.Background(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func (f *fixture) waitState(t *testing.T, id int64, state string, within time.Duration) {
	t.Helper()
	waitFor(t, "job "+state, within, func() (bool, error) { return f.jobState(t, id) == state, nil })
}

// TestSIGTERMLosesNoJob: on SIGTERM a worker lets a running job finish
// within the shutdown timeout; a job still running then is handed back,
// and another worker completes it. Nothing is lost.
func TestSIGTERMLosesNoJob(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.client(t, jobs.InsertOnly, jobs.Config{})
	ids := f.enqueueSleeps(t, c, 300*time.Millisecond, time.Hour)
	cmd := f.startWorker(t, time.Second)
	for _, id := range ids {
		f.waitState(t, id, taruvi.JobRunning, 15*time.Second)
	}
	stopped := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("worker after SIGTERM: %v, want a clean exit", err)
	}
	if took := time.Since(stopped); took > 5*time.Second {
		t.Fatalf("worker took %s to stop, want about its 1s timeout", took)
	}
	if got := f.jobState(t, ids[0]); got != taruvi.JobCompleted {
		t.Fatalf("short job is %s after shutdown, want completed", got)
	}
	if got := f.jobState(t, ids[1]); got != taruvi.JobAvailable && got != taruvi.JobRetryable {
		t.Fatalf("long job is %s after shutdown, want handed back (available or retryable)", got)
	}
	f.client(t, jobs.WorkerScheduler, jobs.Config{}, quickSleeper)
	f.waitState(t, ids[1], taruvi.JobCompleted, 20*time.Second)
}

// TestKilledWorkerLosesNoJob: a worker killed mid-job (SIGKILL: no
// shutdown at all) leaves its job running; the leader's rescuer hands it
// back after RescueStuckJobsAfter and another worker completes it.
func TestKilledWorkerLosesNoJob(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.client(t, jobs.InsertOnly, jobs.Config{})
	ids := f.enqueueSleeps(t, c, time.Hour)
	cmd := f.startWorker(t, time.Second)
	f.waitState(t, ids[0], taruvi.JobRunning, 15*time.Second)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if got := f.jobState(t, ids[0]); got != taruvi.JobRunning {
		t.Fatalf("job is %s after the kill, want still running (nobody told it)", got)
	}
	// The rescuer runs when a leader starts and then every 30s: start the
	// leader once the job counts as stuck.
	time.Sleep(1200 * time.Millisecond)
	f.client(t, jobs.WorkerScheduler, jobs.Config{JobTimeout: 500 * time.Millisecond, RescueStuckJobsAfter: time.Second}, quickSleeper)
	f.waitState(t, ids[0], taruvi.JobCompleted, 30*time.Second)
}

// TestSchedulersEnqueueEachTickOnce: three scheduler processes (clients
// with pools of their own) elect one leader, which enqueues each tick of
// the maintenance schedule exactly once.
func TestSchedulersEnqueueEachTickOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const every = 300 * time.Millisecond
	for range 3 {
		f.client(t, jobs.Scheduler, jobs.Config{MaintenanceInterval: every})
	}
	var ticks []time.Time
	waitFor(t, "eight ticks", 20*time.Second, func() (bool, error) {
		rows, err := f.db.Pool().Query(context.Background(),
			`SELECT (args->>'tick')::timestamptz FROM river.river_job WHERE kind = 'maintenance' ORDER BY 1`)
		if err != nil {
			return false, err
		}
		defer rows.Close()
		ticks = ticks[:0]
		for rows.Next() {
			var tick time.Time
			if err := rows.Scan(&tick); err != nil {
				return false, err
			}
			ticks = append(ticks, tick)
		}
		return len(ticks) >= 8, rows.Err()
	})
	if len(slices.Compact(slices.Clone(ticks))) != len(ticks) {
		t.Fatalf("a tick was enqueued twice: %v", ticks)
	}
	for i := 1; i < len(ticks); i++ {
		if gap := ticks[i].Sub(ticks[i-1]); gap != every {
			t.Fatalf("ticks %v and %v are %s apart, want consecutive ticks %s apart (one each)", ticks[i-1], ticks[i], gap, every)
		}
	}
	var leaders int
	if err := f.db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM river.river_leader`).Scan(&leaders); err != nil {
		t.Fatal(err)
	}
	if leaders != 1 {
		t.Fatalf("%d leaders, want 1", leaders)
	}
}
