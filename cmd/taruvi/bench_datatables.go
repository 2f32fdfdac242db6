package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"taruvi"
	"taruvi/internal/postgres"
)

// datatablesBenchResult is the output of `bench datatables`; the first
// seven keys are stable (dashboards read them).
type datatablesBenchResult struct {
	ListRPS          float64 `json:"list_rps"`
	ListP99MS        float64 `json:"list_p99_ms"`
	InsertRPS        float64 `json:"insert_rps"`
	BulkRowsPerS     float64 `json:"bulk_rows_per_s"`
	CreateTableP95MS float64 `json:"create_table_p95_ms"`
	AddFieldMS       float64 `json:"add_field_ms"`
	GroupByMS        float64 `json:"group_by_ms"`
	ListP50MS        float64 `json:"list_p50_ms"`
	InsertP99MS      float64 `json:"insert_p99_ms"`
	InsertP50MS      float64 `json:"insert_p50_ms"`
	BulkP99MS        float64 `json:"bulk_p99_ms"` // per request of bulkRows rows
	BulkP50MS        float64 `json:"bulk_p50_ms"`
	CreateTableP50MS float64 `json:"create_table_p50_ms"`
	Lists            int     `json:"lists"`
	Inserts          int     `json:"inserts"`
	Bulks            int     `json:"bulks"`
	BulkRows         int     `json:"bulk_rows"`
	CreatedTables    int     `json:"created_tables"`
	Tenants          int     `json:"tenants"`
	Rows             int     `json:"rows"`
	BigRows          int     `json:"big_rows"`
	Concurrency      int     `json:"concurrency"`
	DurationS        float64 `json:"duration_s"`
	DBMaxConns       int     `json:"db_max_conns"`
	ReadCacheTTLS    float64 `json:"read_cache_ttl_s"` // TARUVI_READ_CACHE_TTL; 0: reads go to the database
	SeedS            float64 `json:"seed_s"`           // creating the apps and tables and seeding their rows
	// CPU time per list and per single-row insert, and per row of the bulk
	// inserts, in microseconds, of this process (server and load
	// generator) and, when the database server is local, of the PostgreSQL
	// backends (the pg_ fields).
	ListCPUUS      float64 `json:"list_cpu_us"`
	ListPGCPUUS    float64 `json:"list_pg_cpu_us,omitempty"`
	InsertCPUUS    float64 `json:"insert_cpu_us"`
	InsertPGCPUUS  float64 `json:"insert_pg_cpu_us,omitempty"`
	BulkRowCPUUS   float64 `json:"bulk_cpu_us_per_row"`
	BulkRowPGCPUUS float64 `json:"bulk_pg_cpu_us_per_row,omitempty"`
}

// datatablesBenchOptions are the parsed flags of `bench datatables`.
type datatablesBenchOptions struct {
	tenants     int
	rows        int
	bigRows     int
	tables      int
	concurrency int
	duration    time.Duration
	json        bool
	cpuprofile  string
}

// The app and tables every bench tenant gets: dtTable with --rows rows in
// each, and in the first tenant dtBigTable with --big-rows rows, which a
// field is added to.
const (
	dtApp      = "bench"
	dtTable    = "items"
	dtBigTable = "big"
)

// bulkRows is the number of rows of each request of the bulk phase.
const bulkRows = 1000

// dtRuns is how many times the group-by and the added field are timed;
// their medians are reported.
const dtRuns = 5

// dtStatuses are the values of the status field's enum; the seeded row i
// has status dtStatuses[i%4] and amount i%1000.
var dtStatuses = []string{"open", "active", "closed", "archived"}

// dtSeedFields are the fields the seed fills, in the order of its SELECT.
var dtSeedFields = []string{"name", "status", "amount", "price", "created", "flag"}

func runBenchDatatables(ctx context.Context, e env) error {
	fs := newFlags(e, "bench datatables", "[--tenants N] [--rows N] [--big-rows N] [--tables N] [--concurrency C] [--duration D] [--database URL] [--json] [--cpuprofile F]")
	tenants := fs.Int("tenants", 100, "tenants seeded, each with an owner, an app and a datatable of --rows rows")
	rows := fs.Int("rows", 100_000, "rows seeded in each tenant's datatable (through SQL, the table's triggers disabled meanwhile)")
	bigRows := fs.Int("big-rows", 1_000_000, "rows of the first tenant's second datatable, which a field is added to")
	tables := fs.Int("tables", 50, "datatables created through the API, one at a time across the tenants, and timed")
	concurrency := fs.Int("concurrency", 32, "clients sending requests at once, spread across the tenants")
	duration := fs.Duration("duration", 15*time.Second, "measured time, split evenly between the phases: lists, single-row inserts, bulk inserts")
	bf := addBenchFlags(fs)
	if err := parseBenchFlags(fs, e, "datatables"); err != nil {
		return err
	}
	switch {
	case *tenants < 1 || *tenants > 10_000:
		return usageError("--tenants must be from 1 to 10000, got %d", *tenants)
	case *rows < 1000 || *rows > 10_000_000:
		return usageError("--rows must be from 1000 to 10000000, got %d", *rows)
	case *bigRows < 1000 || *bigRows > 100_000_000:
		return usageError("--big-rows must be from 1000 to 100000000, got %d", *bigRows)
	case *tables < 1 || *tables > 10_000:
		return usageError("--tables must be from 1 to 10000, got %d", *tables)
	case *concurrency < 1 || *concurrency > 1024:
		return usageError("--concurrency must be from 1 to 1024, got %d", *concurrency)
	case *duration < 200*time.Millisecond || *duration > time.Hour:
		return usageError("--duration must be from 200ms to 1h, got %s", *duration)
	}
	opts := datatablesBenchOptions{tenants: *tenants, rows: *rows, bigRows: *bigRows, tables: *tables, concurrency: *concurrency,
		duration: *duration, json: *bf.json, cpuprofile: *bf.cpuprofile}
	return withBenchDatabase(ctx, e, *bf.database, func(_ *postgres.DB, url string) error {
		r, err := benchDatatables(ctx, e, url, opts)
		if err != nil {
			return err
		}
		if opts.json {
			return json.NewEncoder(e.stdout).Encode(r)
		}
		fmt.Fprintf(e.stdout, "bench datatables, %d tenants of %d rows, %d clients over HTTP: "+
			"lists %.0f/s (p99 %.1f ms, p50 %.1f ms), inserts %.0f/s (p99 %.1f ms), bulk inserts %.0f rows/s (p99 %.1f ms per %d rows), "+
			"create table p95 %.1f ms (p50 %.1f ms), group by over %d rows %.1f ms, add field to %d rows %.1f ms\n",
			r.Tenants, r.Rows, r.Concurrency, r.ListRPS, r.ListP99MS, r.ListP50MS, r.InsertRPS, r.InsertP99MS,
			r.BulkRowsPerS, r.BulkP99MS, bulkRows, r.CreateTableP95MS, r.CreateTableP50MS, r.Rows, r.GroupByMS, r.BigRows, r.AddFieldMS)
		return nil
	})
}

// benchDatatables seeds the tenants in the database at url, serves the API
// on a loopback port, signs every owner in, creates each tenant's app and
// datatables through the API, fills them through SQL and measures the
// phases: table creations, lists, a group-by, single-row and bulk
// inserts, and a field added to a big table.
func benchDatatables(ctx context.Context, e env, url string, opts datatablesBenchOptions) (*datatablesBenchResult, error) {
	r := &datatablesBenchResult{Tenants: opts.tenants, Rows: opts.rows, BigRows: opts.bigRows, Concurrency: opts.concurrency,
		DurationS: opts.duration.Seconds()}
	seed := func(ctx context.Context, db *postgres.DB, users taruvi.UserService, baseDomain string) ([]*apiTenant, error) {
		return seedTenants(ctx, opts.tenants, baseDomain, newProgress(e.stderr, "seeded tenants", opts.tenants),
			func(ctx context.Context, t *apiTenant) error {
				_, err := createTenantOwner(ctx, db, users, t)
				return err
			})
	}
	err := withSignedInTenants(ctx, e, url, opts.duration, opts.concurrency, seed, func(h *apiHarness) error {
		r.DBMaxConns, r.ReadCacheTTLS = h.cfg.DBMaxConns, h.cfg.ReadCacheTTL.Seconds()
		start := time.Now()
		if err := seedDatatables(ctx, e, h, opts); err != nil {
			return err
		}
		r.SeedS = seconds(time.Since(start))
		if err := checkpoint(ctx, e.stderr, h.db.Pool()); err != nil {
			return err
		}
		c, tenants, meter := h.client, h.tenants, h.meter
		return profile(opts.cpuprofile, func() error {
			if err := benchCreateTables(ctx, c, tenants, opts, r); err != nil {
				return err
			}
			err := meter.measure(ctx, func() error { return benchLists(ctx, c, tenants, opts, r) }, &r.Lists, &r.ListCPUUS, &r.ListPGCPUUS)
			if err != nil {
				return err
			}
			if err := benchGroupBy(ctx, c, tenants[0], opts, r); err != nil {
				return err
			}
			err = meter.measure(ctx, func() error { return benchInserts(ctx, h, opts, r) }, &r.Inserts, &r.InsertCPUUS, &r.InsertPGCPUUS)
			if err != nil {
				return err
			}
			err = meter.measure(ctx, func() error { return benchBulkInserts(ctx, c, tenants, opts, r) }, &r.BulkRows, &r.BulkRowCPUUS, &r.BulkRowPGCPUUS)
			if err != nil {
				return err
			}
			return benchAddField(ctx, c, tenants[0], r)
		})
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// datatableBody is the body of a datatable's POST and PUT.
type datatableBody struct {
	Name    string              `json:"name"`
	Schema  taruvi.TableSchema  `json:"schema"`
	Indexes []taruvi.TableIndex `json:"indexes,omitempty"`
}

// benchDatatable is the definition of the bench's tables: a name, a
// status of four values, an amount, a price, a time and a flag, with an
// index on (status, amount) that serves the list phase's filters and
// order. Fields named in extra are added as nullable strings.
func benchDatatable(name string, extra ...string) datatableBody {
	enum := make([]json.RawMessage, len(dtStatuses))
	for i, s := range dtStatuses {
		enum[i], _ = json.Marshal(s)
	}
	fields := []taruvi.TableField{
		{Name: "name", Type: taruvi.FieldString, Constraints: taruvi.FieldConstraints{Required: true}},
		{Name: "status", Type: taruvi.FieldString, Constraints: taruvi.FieldConstraints{Required: true, Enum: enum}},
		{Name: "amount", Type: taruvi.FieldInteger},
		{Name: "price", Type: taruvi.FieldNumber},
		{Name: "created", Type: taruvi.FieldDateTime},
		{Name: "flag", Type: taruvi.FieldBoolean},
	}
	for _, f := range extra {
		fields = append(fields, taruvi.TableField{Name: f, Type: taruvi.FieldString})
	}
	return datatableBody{Name: name, Schema: taruvi.TableSchema{Fields: fields},
		Indexes: []taruvi.TableIndex{{Fields: taruvi.Names{"status", "amount"}}}}
}

// dtPath is the path of the API under the bench app: dtPath("datatables",
// "items", "data") is /api/apps/bench/datatables/items/data/.
func dtPath(parts ...string) string {
	return "/api/apps/" + dtApp + "/" + strings.Join(parts, "/") + "/"
}

// seedDatatables creates each tenant's app and table through the API and
// fills the tables through SQL, setupWorkers tenants at a time; the first
// tenant also gets the big table.
func seedDatatables(ctx context.Context, e env, h *apiHarness, opts datatablesBenchOptions) error {
	fmt.Fprintf(e.stderr, "bench: seeding %d rows per tenant through SQL with the tables' triggers disabled (no history for them), then VACUUM (ANALYZE)\n", opts.rows)
	p := newProgress(e.stderr, "seeded datatables", len(h.tenants))
	seeded := make([]string, len(h.tenants)+1) // the tables to vacuum, qualified
	err := forEachParallel(ctx, len(h.tenants), setupWorkers, func(ctx context.Context, i int) error {
		t := h.tenants[i]
		app, _ := json.Marshal(map[string]string{"name": "Bench", "slug": dtApp, "description": "Made by the datatables benchmark."})
		if err := apiCall(ctx, h.client, http.MethodPost, "/api/apps/", t, app, http.StatusCreated, &struct{}{}); err != nil {
			return err
		}
		if err := createBenchTable(ctx, h.client, t, dtTable); err != nil {
			return err
		}
		table, err := seedRows(ctx, h.db, t, dtTable, 1, opts.rows)
		if err != nil {
			return err
		}
		seeded[i] = table
		p.add()
		return nil
	})
	if err != nil {
		return err
	}
	start := time.Now()
	t := h.tenants[0]
	if err := createBenchTable(ctx, h.client, t, dtBigTable); err != nil {
		return err
	}
	table, err := seedRows(ctx, h.db, t, dtBigTable, 1, opts.bigRows)
	if err != nil {
		return err
	}
	seeded[len(h.tenants)] = table
	fmt.Fprintf(e.stderr, "bench: seeded %d rows in %s.%s in %.1fs\n", opts.bigRows, t.schema, dtBigTable, time.Since(start).Seconds())
	// VACUUM (ANALYZE), as autovacuum would after a bulk load, once every
	// seed has committed: a page is marked all-visible only when no
	// transaction older than its rows still runs, and index-only counts
	// need those marks. VACUUM cannot run in a transaction, so it runs on
	// the connecting user's pool.
	start = time.Now()
	err = forEachParallel(ctx, len(seeded), setupWorkers, func(ctx context.Context, i int) error {
		if _, err := h.db.Pool().Exec(ctx, `VACUUM (ANALYZE) `+seeded[i]); err != nil {
			return fmt.Errorf("vacuum %s: %w", seeded[i], err)
		}
		return nil
	})
	fmt.Fprintf(e.stderr, "bench: vacuumed %d tables in %.1fs\n", len(seeded), time.Since(start).Seconds())
	return err
}

// createBenchTable creates the datatable name of the bench app in t
// through the API; the answer must be the table.
func createBenchTable(ctx context.Context, c *benchClient, t *apiTenant, name string) error {
	body, err := json.Marshal(benchDatatable(name))
	if err != nil {
		return err
	}
	var out struct {
		Data struct {
			Name string `json:"name"`
		} `json:"data"`
	}
	if err := apiCall(ctx, c, http.MethodPost, dtPath("datatables"), t, body, http.StatusCreated, &out); err != nil {
		return err
	}
	if out.Data.Name != name {
		return fmt.Errorf("POST %s on %s: created table %q, want %q", dtPath("datatables"), t.schema, out.Data.Name, name)
	}
	return nil
}

// seedRows inserts the rows from to to (the row i as dtStatuses and
// dtSeedFields say) into the datatable name of the bench app in t, in one
// transaction in the tenant's scope: the physical table comes from the
// tenant's datatables registry, the columns from its stored definition.
// The table's user triggers (its history) are disabled for the insert and
// enabled again before the commit, so no other writer ever misses them.
// It returns the table's qualified name.
func seedRows(ctx context.Context, db *postgres.DB, t *apiTenant, name string, from, to int) (string, error) {
	ctx = taruvi.NewContextWithTenant(ctx, t.tenant)
	var table string
	err := db.InTenant(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var def []byte
		err := tx.QueryRow(ctx, `SELECT d.table_name, d.definition FROM datatables d JOIN apps a ON a.id = d.app_id
			WHERE a.slug = $1 AND d.name = $2`, dtApp, name).Scan(&table, &def)
		if err != nil {
			return fmt.Errorf("find datatable %s/%s: %w", dtApp, name, err)
		}
		cols, err := storedColumns(def, dtSeedFields)
		if err != nil {
			return fmt.Errorf("datatable %s/%s: %w", dtApp, name, err)
		}
		tbl := pgx.Identifier{table}.Sanitize()
		if _, err := tx.Exec(ctx, `ALTER TABLE `+tbl+` DISABLE TRIGGER USER`); err != nil {
			return fmt.Errorf("disable the triggers of %s: %w", table, err)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO `+tbl+` (`+strings.Join(cols, ", ")+`)
			SELECT 'Row ' || i, ($3::text[])[i % 4 + 1], i % 1000, (i % 10000) / 100.0,
				timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second', i % 2 = 0
			FROM generate_series($1::bigint, $2::bigint) i`, from, to, dtStatuses)
		if err != nil {
			return fmt.Errorf("seed %s: %w", table, err)
		}
		if want := int64(to - from + 1); tag.RowsAffected() != want {
			return fmt.Errorf("seed %s: inserted %d rows, want %d", table, tag.RowsAffected(), want)
		}
		if _, err := tx.Exec(ctx, `ALTER TABLE `+tbl+` ENABLE TRIGGER USER`); err != nil {
			return fmt.Errorf("enable the triggers of %s: %w", table, err)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("seed rows on %s: %w", t.schema, err)
	}
	return pgx.Identifier{t.schema, table}.Sanitize(), nil
}

// storedColumns returns the quoted columns of the fields named in a
// datatable's stored definition (the whole datatable or its schema alone),
// or an error naming a field it lacks.
func storedColumns(def []byte, names []string) ([]string, error) {
	var stored struct {
		Schema taruvi.TableSchema  `json:"schema"`
		Fields []taruvi.TableField `json:"fields"`
	}
	if err := json.Unmarshal(def, &stored); err != nil {
		return nil, fmt.Errorf("read stored definition: %w", err)
	}
	schema := stored.Schema
	if len(schema.Fields) == 0 {
		schema.Fields = stored.Fields
	}
	cols := make([]string, len(names))
	for i, n := range names {
		f, ok := schema.Field(n)
		if !ok {
			return nil, fmt.Errorf("the stored definition has no field %q", n)
		}
		cols[i] = pgx.Identifier{f.Name}.Sanitize()
	}
	return cols, nil
}

// dtExpected answers what the seeded rows 1..rows hold: how many rows of
// status k have an amount of at least g, and the sum of the amounts of
// each status.
type dtExpected struct {
	atLeast [4][1001]int // atLeast[k][g]: rows of status k with amount >= g
	sums    [4]int64
}

func newDTExpected(rows int) *dtExpected {
	x := &dtExpected{}
	for i := 1; i <= rows; i++ {
		x.atLeast[i%4][i%1000]++
		x.sums[i%4] += int64(i % 1000)
	}
	for k := range x.atLeast {
		for g := 999; g >= 0; g-- {
			x.atLeast[k][g] += x.atLeast[k][g+1]
		}
	}
	return x
}

// benchCreateTables creates opts.tables fresh datatables through the API,
// one at a time, across the tenants, and records the p95 and p50.
func benchCreateTables(ctx context.Context, c *benchClient, tenants []*apiTenant, opts datatablesBenchOptions, r *datatablesBenchResult) error {
	took := make([]time.Duration, 0, opts.tables)
	for i := range opts.tables {
		t0 := time.Now()
		if err := createBenchTable(ctx, c, tenants[i%len(tenants)], fmt.Sprintf("fresh_%04d", i+1)); err != nil {
			return err
		}
		took = append(took, time.Since(t0))
	}
	r.CreatedTables = len(took)
	r.CreateTableP50MS, r.CreateTableP95MS = millis(percentile(took, 50)), millis(percentile(took, 95))
	return nil
}

// dtPage is a page of the bench table's rows as the list answers it.
type dtPage struct {
	Data []struct {
		Status string      `json:"status"`
		Amount json.Number `json:"amount"`
	} `json:"data"`
	Total *int `json:"total"`
}

// benchLists has the clients list pages of the tenants' tables for a
// third of the duration, one tenant after another: a status and a least
// amount chosen at random, ordered by amount, descending, a page of 20
// among the first five that hold rows. Every answer must be exactly the
// page the seed implies.
func benchLists(ctx context.Context, c *benchClient, tenants []*apiTenant, opts datatablesBenchOptions, r *datatablesBenchResult) error {
	const pageSize = 20
	x := newDTExpected(opts.rows)
	rngs := make([]*rand.Rand, opts.concurrency)
	for w := range rngs {
		rngs[w] = rand.New(rand.NewPCG(uint64(w), 14))
	}
	var next atomic.Int64
	ok, took, failed, first := phase(ctx, opts.concurrency, opts.duration/3, func(ctx context.Context, w int) error {
		t := tenants[int(next.Add(1)-1)%len(tenants)]
		rng := rngs[w]
		k, g := rng.IntN(4), rng.IntN(1000)
		total := x.atLeast[k][g]
		pages := min(5, (total+pageSize-1)/pageSize)
		page := 1 + rng.IntN(max(pages, 1))
		q := url.Values{"status": {dtStatuses[k]}, "amount__gte": {strconv.Itoa(g)}, "ordering": {"-amount"},
			"page": {strconv.Itoa(page)}, "page_size": {strconv.Itoa(pageSize)}}
		path := dtPath("datatables", dtTable, "data") + "?" + q.Encode()
		var out dtPage
		if err := apiCall(ctx, c, http.MethodGet, path, t, nil, http.StatusOK, &out); err != nil {
			return err
		}
		want := min(pageSize, max(total-(page-1)*pageSize, 0))
		if out.Total == nil || *out.Total != total || len(out.Data) != want {
			return fmt.Errorf("GET %s on %s: %d rows of total %v, want %d of %d", path, t.schema, len(out.Data), out.Total, want, total)
		}
		last := 1000
		for _, row := range out.Data {
			a, err := strconv.Atoi(row.Amount.String())
			if err != nil || row.Status != dtStatuses[k] || a < g || a > last {
				return fmt.Errorf("GET %s on %s: row with status %q and amount %s after %d, want status %q, amounts from %d descending",
					path, t.schema, row.Status, row.Amount, last, dtStatuses[k], g)
			}
			last = a
		}
		return nil
	})
	if failed > 0 {
		return fmt.Errorf("%d lists failed; the first: %w", failed, first)
	}
	r.Lists, r.ListRPS, r.ListP50MS, r.ListP99MS = phaseFigures(ok, took)
	return nil
}

// benchGroupBy sums the amounts of t's table by status dtRuns times, after
// one untimed run, and records the median. Each run filters on an amount
// below a bound that every row meets and that differs between runs, so
// that no answer comes from the read cache. The sums must be the seed's.
func benchGroupBy(ctx context.Context, c *benchClient, t *apiTenant, opts datatablesBenchOptions, r *datatablesBenchResult) error {
	x := newDTExpected(opts.rows)
	took := make([]time.Duration, 0, dtRuns)
	for run := range dtRuns + 1 {
		q := url.Values{"_aggregate": {"sum(amount)"}, "_group_by": {"status"}, "amount__lt": {strconv.Itoa(1000 + run)}}
		path := dtPath("datatables", dtTable, "data") + "?" + q.Encode()
		var out struct {
			Data []map[string]any `json:"data"`
		}
		t0 := time.Now()
		if err := apiCall(ctx, c, http.MethodGet, path, t, nil, http.StatusOK, &out); err != nil {
			return err
		}
		if run > 0 {
			took = append(took, time.Since(t0))
		}
		if len(out.Data) != len(dtStatuses) {
			return fmt.Errorf("GET %s on %s: %d groups, want %d: %v", path, t.schema, len(out.Data), len(dtStatuses), out.Data)
		}
		for _, g := range out.Data {
			status, _ := g["status"].(string)
			k := slices.Index(dtStatuses, status)
			sum, ok := jsonInt(g["sum_amount"])
			if k < 0 || !ok || sum != x.sums[k] {
				return fmt.Errorf("GET %s on %s: group %v, want status and sum_amount of the seed", path, t.schema, g)
			}
		}
	}
	r.GroupByMS = millis(percentile(took, 50))
	return nil
}

// jsonInt reads an integer that JSON carried as a number or as a string
// (PostgreSQL's numeric sums may come as either).
func jsonInt(v any) (int64, bool) {
	switch v := v.(type) {
	case float64:
		return int64(v), v == float64(int64(v))
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// dtRow is the JSON of the n-th row the insert phases create.
func dtRow(buf *bytes.Buffer, n int) {
	fmt.Fprintf(buf, `{"name":"Inserted %d","status":%q,"amount":%d,"price":%d.25,"created":"2026-06-01T12:00:00Z","flag":%t}`,
		n, dtStatuses[n%4], n%1000, n%100, n%2 == 0)
}

// benchInserts has the clients create one row per request in one tenant's
// table after another for a third of the duration; each answer must be
// the row with its key. The rows' history, written by the table's
// trigger, is then counted in the first tenant: one entry per row created
// there, and none of the seeded rows.
func benchInserts(ctx context.Context, h *apiHarness, opts datatablesBenchOptions, r *datatablesBenchResult) error {
	c, tenants := h.client, h.tenants
	var next, firstTenant atomic.Int64
	path := dtPath("datatables", dtTable, "data")
	ok, took, failed, first := phase(ctx, opts.concurrency, opts.duration/3, func(ctx context.Context, _ int) error {
		n := int(next.Add(1) - 1)
		t := tenants[n%len(tenants)]
		var body bytes.Buffer
		dtRow(&body, n)
		var out struct {
			Data map[string]any `json:"data"`
		}
		if err := apiCall(ctx, c, http.MethodPost, path, t, body.Bytes(), http.StatusCreated, &out); err != nil {
			return err
		}
		amount, _ := jsonInt(out.Data["amount"])
		if out.Data["id"] == nil || amount != int64(n%1000) {
			return fmt.Errorf("POST %s on %s: created %v, want the row with its id and amount %d", path, t.schema, out.Data, n%1000)
		}
		if n%len(tenants) == 0 {
			firstTenant.Add(1)
		}
		return nil
	})
	if failed > 0 {
		return fmt.Errorf("%d inserts failed; the first: %w", failed, first)
	}
	r.Inserts, r.InsertRPS, r.InsertP50MS, r.InsertP99MS = phaseFigures(ok, took)
	var entries int64
	err := h.db.InTenant(taruvi.NewContextWithTenant(ctx, tenants[0].tenant), func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM history WHERE object_type = $1 AND action = 'create'`,
			taruvi.DatatableObjectType(dtApp, dtTable)).Scan(&entries)
	})
	if err != nil {
		return fmt.Errorf("count the history of %s: %w", tenants[0].schema, err)
	}
	if entries != firstTenant.Load() {
		return fmt.Errorf("history of %s/%s on %s: %d creations recorded, want %d (the rows inserted through the API)",
			dtApp, dtTable, tenants[0].schema, entries, firstTenant.Load())
	}
	return nil
}

// benchBulkInserts has the clients create bulkRows rows per request, an
// array, in one tenant's table after another for a third of the duration;
// each answer must list as many rows.
func benchBulkInserts(ctx context.Context, c *benchClient, tenants []*apiTenant, opts datatablesBenchOptions, r *datatablesBenchResult) error {
	var next atomic.Int64
	path := dtPath("datatables", dtTable, "data")
	ok, took, failed, first := phase(ctx, opts.concurrency, opts.duration/3, func(ctx context.Context, _ int) error {
		n := int(next.Add(1) - 1)
		t := tenants[n%len(tenants)]
		var body bytes.Buffer
		body.WriteByte('[')
		for i := range bulkRows {
			if i > 0 {
				body.WriteByte(',')
			}
			dtRow(&body, n*bulkRows+i)
		}
		body.WriteByte(']')
		var out struct {
			Data []map[string]any `json:"data"`
		}
		if err := apiCall(ctx, c, http.MethodPost, path, t, body.Bytes(), http.StatusCreated, &out); err != nil {
			return err
		}
		if len(out.Data) != bulkRows || out.Data[0]["id"] == nil {
			return fmt.Errorf("POST %s on %s: %d rows created, want %d with their ids", path, t.schema, len(out.Data), bulkRows)
		}
		return nil
	})
	if failed > 0 {
		return fmt.Errorf("%d bulk inserts failed; the first: %w", failed, first)
	}
	r.Bulks, _, r.BulkP50MS, r.BulkP99MS = phaseFigures(ok, took)
	r.BulkRows = r.Bulks * bulkRows
	r.BulkRowsPerS = rate(r.BulkRows, took)
	return nil
}

// benchAddField adds a nullable field to t's big table dtRuns times, by a
// PUT of its definition with one more field each time, and records the
// median time of the PUT. A dry run of the first comes before, untimed.
func benchAddField(ctx context.Context, c *benchClient, t *apiTenant, r *datatablesBenchResult) error {
	path := dtPath("datatables", dtBigTable)
	var extra []string
	body, err := json.Marshal(benchDatatable(dtBigTable, "note_1"))
	if err != nil {
		return err
	}
	if err := apiCall(ctx, c, http.MethodPut, path+"?dry_run=true", t, body, http.StatusOK, &struct{}{}); err != nil {
		return err
	}
	took := make([]time.Duration, 0, dtRuns)
	for run := range dtRuns {
		extra = append(extra, fmt.Sprintf("note_%d", run+1))
		body, err := json.Marshal(benchDatatable(dtBigTable, extra...))
		if err != nil {
			return err
		}
		var out struct {
			Data struct {
				Datatable datatableBody `json:"datatable"` // the definition as applied, beside the plan
			} `json:"data"`
		}
		t0 := time.Now()
		if err := apiCall(ctx, c, http.MethodPut, path, t, body, http.StatusOK, &out); err != nil {
			return err
		}
		took = append(took, time.Since(t0))
		if _, ok := out.Data.Datatable.Schema.Field(extra[run]); !ok {
			return fmt.Errorf("PUT %s on %s: the answer has no field %s", path, t.schema, extra[run])
		}
	}
	r.AddFieldMS = millis(percentile(took, 50))
	return nil
}
