package devserver

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Binaries are the PostgreSQL server programs a private server runs with.
type Binaries struct {
	InitDB string // path of initdb
	PGCtl  string // path of pg_ctl; it finds postgres in its own folder
	Major  int    // major version, 15 for 15.4; 0 when unknown
}

// search says where to look for the server programs.
type search struct {
	pgConfig string // path of pg_config, "" if there is none
	libGlob  string // Debian's versioned folders, /usr/lib/postgresql/*/bin
	path     string // a PATH list
}

// defaultSearch looks where the installed packages put the programs.
func defaultSearch() search {
	s := search{libGlob: "/usr/lib/postgresql/*/bin", path: os.Getenv("PATH")}
	if p, err := exec.LookPath("pg_config"); err == nil {
		s.pgConfig = p
	}
	return s
}

// FindBinaries returns the installed PostgreSQL server programs, newest
// first: the folder `pg_config --bindir` names, then /usr/lib/postgresql/*/bin
// from the highest version down, then initdb and pg_ctl on PATH. It fails
// with an error that names the places searched and how to install the
// programs when none are found.
func FindBinaries() ([]Binaries, error) {
	return findBinaries(defaultSearch())
}

func findBinaries(s search) ([]Binaries, error) {
	var found []Binaries
	seen := map[string]bool{}
	add := func(b Binaries) {
		key := b.PGCtl
		if real, err := filepath.EvalSymlinks(b.PGCtl); err == nil {
			key = real
		}
		if seen[key] {
			return
		}
		seen[key] = true
		b.Major = binaryMajor(b.PGCtl)
		found = append(found, b)
	}

	searched := []string{}
	if s.pgConfig == "" {
		searched = append(searched, "`pg_config --bindir` (no pg_config on PATH)")
	} else if out, err := exec.Command(s.pgConfig, "--bindir").Output(); err != nil {
		searched = append(searched, fmt.Sprintf("`%s --bindir` (failed: %v)", s.pgConfig, err))
	} else {
		dir := strings.TrimSpace(string(out))
		searched = append(searched, dir+" (from pg_config --bindir)")
		if b, ok := inFolder(dir); ok {
			add(b)
		}
	}

	searched = append(searched, s.libGlob)
	dirs, _ := filepath.Glob(s.libGlob)
	sort.SliceStable(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, dir := range dirs {
		if b, ok := inFolder(dir); ok {
			add(b)
		}
	}

	searched = append(searched, "PATH")
	initdb, pgctl := lookPath("initdb", s.path), lookPath("pg_ctl", s.path)
	if initdb != "" && pgctl != "" {
		add(Binaries{InitDB: initdb, PGCtl: pgctl})
	}

	if len(found) == 0 {
		return nil, fmt.Errorf("PostgreSQL server programs (initdb, pg_ctl, postgres) not found; searched %s. "+
			"Install them (Debian and Ubuntu: apt-get install postgresql; macOS: brew install postgresql) "+
			"or set TARUVI_DATABASE_URL to a server of your own", strings.Join(searched, ", "))
	}
	return found, nil
}

// inFolder returns the programs in dir if all three are there.
func inFolder(dir string) (Binaries, bool) {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		if !isExecutable(filepath.Join(dir, name)) {
			return Binaries{}, false
		}
	}
	return Binaries{InitDB: filepath.Join(dir, "initdb"), PGCtl: filepath.Join(dir, "pg_ctl")}, true
}

func lookPath(name, path string) string {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p
		}
	}
	return ""
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// versionOf reads the version in /usr/lib/postgresql/<version>/bin.
func versionOf(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

var versionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)`)

// binaryMajor asks pg_ctl for its major version: "pg_ctl (PostgreSQL) 15.4".
func binaryMajor(pgctl string) int {
	out, err := exec.Command(pgctl, "--version").Output()
	if err != nil {
		return 0
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// clusterMajor reads the major version of the cluster in dir from its
// PG_VERSION file; 0 and no error when dir holds no cluster yet.
func clusterMajor(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "PG_VERSION"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("%s: unreadable PG_VERSION %q", dir, strings.TrimSpace(string(b)))
	}
	return n, nil
}

// pickBinaries returns the newest programs for a new cluster (major 0) and
// programs of the cluster's own major version for an existing one.
func pickBinaries(all []Binaries, major int, dir string) (Binaries, error) {
	if major == 0 {
		return all[0], nil
	}
	var have []string
	for _, b := range all {
		if b.Major == major {
			return b, nil
		}
		have = append(have, strconv.Itoa(b.Major))
	}
	return Binaries{}, fmt.Errorf("the PostgreSQL cluster in %s was made by PostgreSQL %d, but only version %s is installed: "+
		"install PostgreSQL %d, or remove %s to start with an empty database", dir, major, strings.Join(have, ", "), major, dir)
}
