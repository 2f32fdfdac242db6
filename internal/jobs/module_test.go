package jobs

import (
	"context"
	"strings"
	"testing"
	"time"

	"taruvi"
)

// periodicModule is a module with periodic jobs only.
type periodicModule struct {
	name string
	jobs []taruvi.PeriodicJob
}

func (m periodicModule) App() taruvi.App           { return taruvi.App{Name: m.name} }
func (m periodicModule) Parts() taruvi.ModuleParts { return taruvi.ModuleParts{PeriodicJobs: m.jobs} }

// TestModulePeriodicRefusesBadJobs: a periodic job needs a name, an
// interval and a Run, once per module; the same name in two modules is
// two jobs.
func TestModulePeriodicRefusesBadJobs(t *testing.T) {
	t.Parallel()
	run := func(context.Context) error { return nil }
	good := taruvi.PeriodicJob{Name: "sweep", Every: time.Minute, Run: run}
	p, err := newModulePeriodic([]taruvi.Module{periodicModule{"a", []taruvi.PeriodicJob{good}}, periodicModule{"b", []taruvi.PeriodicJob{good}}})
	if err != nil || len(p.periodicJobs()) != 2 {
		t.Fatalf("two modules' sweeps: %v, %d periodic jobs", err, len(p.periodicJobs()))
	}
	for name, j := range map[string][]taruvi.PeriodicJob{
		"no name":     {{Every: time.Minute, Run: run}},
		"a bad name":  {{Name: "Sweep!", Every: time.Minute, Run: run}},
		"no interval": {{Name: "sweep", Run: run}},
		"no Run":      {{Name: "sweep", Every: time.Minute}},
		"twice":       {good, good},
	} {
		if _, err := newModulePeriodic([]taruvi.Module{periodicModule{"a", j}}); err == nil || !strings.Contains(err.Error(), "module a") {
			t.Errorf("%s: err %v, want one naming the module", name, err)
		}
	}
}
