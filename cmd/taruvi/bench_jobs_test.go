package main

import "testing"

func TestBenchJobs(t *testing.T) {
	t.Parallel()
	out, stderr := runBenchOK(t, runBenchJobs, "--tenants", "3", "--jobs", "60", "--fanout", "25", "--concurrency", "4", "--json")
	keys, v := jsonKeys(t, out)
	wantPrefix(t, keys, []string{"jobs_per_s", "fanout_10k_s"})
	if !(v["jobs_per_s"] > 0) || !(v["fanout_10k_s"] > 0) {
		t.Errorf("jobs_per_s %v, fanout_10k_s %v: want positive numbers", v["jobs_per_s"], v["fanout_10k_s"])
	}
	if v["round_trips_per_job"] != 1 || !(v["cpu_us_per_job"] > 0) {
		t.Errorf("round_trips_per_job %v, cpu_us_per_job %v: want 1 and a positive number", v["round_trips_per_job"], v["cpu_us_per_job"])
	}
	if v["jobs"] != 60 || v["tenants"] != 3 || v["fanout_tenants"] != 25 || v["concurrency"] != 4 {
		t.Errorf("jobs, tenants, fanout_tenants, concurrency = %v, %v, %v, %v", v["jobs"], v["tenants"], v["fanout_tenants"], v["concurrency"])
	}
	wantStderr(t, stderr, "provisioned tenants 3/3", "fan-out to 25 tenants enqueued", "worked jobs 60/60")
}

func TestBenchJobsUsage(t *testing.T) {
	t.Parallel()
	checkUsage(t, "bench jobs", runBenchJobs, []usageCase{
		{[]string{"--tenants", "0"}, "--tenants must be from 1 to"},
		{[]string{"--jobs", "0"}, "--jobs must be from 1 to 10000000, got 0"},
		{[]string{"--tenants", "10", "--fanout", "5"}, "--fanout must be from --tenants to 1000000, got 5"},
		{[]string{"--concurrency", "0"}, "--concurrency must be from 1 to 10000, got 0"},
	})
}
