package jobs

import (
	"context"
	"encoding/json"
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

func (m periodicModule) MigrationSet() taruvi.MigrationSet { return taruvi.MigrationSet{Name: m.name} }
func (m periodicModule) Parts() taruvi.ModuleParts         { return taruvi.ModuleParts{PeriodicJobs: m.jobs} }

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

// kindsModule is a module with job kinds of its own only.
type kindsModule struct {
	name string
	jobs []taruvi.ModuleJob
}

func (m kindsModule) MigrationSet() taruvi.MigrationSet { return taruvi.MigrationSet{Name: m.name} }
func (m kindsModule) Parts() taruvi.ModuleParts         { return taruvi.ModuleParts{Jobs: m.jobs} }

// TestModuleJobsRefuseBadKinds: a module's job kind needs a name and a
// Work, once per module; the same name in two modules is two kinds.
func TestModuleJobsRefuseBadKinds(t *testing.T) {
	t.Parallel()
	work := func(context.Context, json.RawMessage) error { return nil }
	good := taruvi.ModuleJob{Name: "copy", Work: work}
	j, err := newModuleJobs([]taruvi.Module{kindsModule{"a", []taruvi.ModuleJob{good}}, kindsModule{"b", []taruvi.ModuleJob{good}}})
	if err != nil || j["a"]["copy"].Work == nil || j["b"]["copy"].Work == nil {
		t.Fatalf("two modules' copies: %v, %v", err, j)
	}
	for name, kinds := range map[string][]taruvi.ModuleJob{
		"no name":    {{Work: work}},
		"a bad name": {{Name: "Copy!", Work: work}},
		"no Work":    {{Name: "copy"}},
		"twice":      {good, good},
	} {
		if _, err := newModuleJobs([]taruvi.Module{kindsModule{"a", kinds}}); err == nil || !strings.Contains(err.Error(), "module a") {
			t.Errorf("%s: err %v, want one naming the module", name, err)
		}
	}
}
