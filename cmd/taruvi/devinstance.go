package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"taruvi/internal/config"
)

// One `taruvi dev` at a time owns a data folder. It holds an exclusive
// flock on <data folder>/dev.lock for as long as it runs, which the kernel
// drops when the process ends however it ends, and describes itself in
// <data folder>/dev.json. A lock that can be taken means no owner is
// alive, whatever dev.json still says, so what an earlier run left behind
// (its PostgreSQL server) may be stopped.
const (
	devLockFile = "dev.lock"
	devInfoFile = "dev.json"
)

// devInstance is what a running `taruvi dev` tells other commands.
type devInstance struct {
	PID         int    `json:"pid"`
	URL         string `json:"url,omitempty"`          // the platform's base URL, once serving
	DatabaseURL string `json:"database_url,omitempty"` // once the database is up
	// SecretKeyID tells which TARUVI_SECRET_KEY the instance runs with
	// (see secretKeyID), so that commands using its database seal with
	// the same one.
	SecretKeyID string `json:"secret_key_id,omitempty"`
}

// String names the instance for messages: its pid and URL.
func (d devInstance) String() string {
	switch {
	case d.PID == 0:
		return "starting"
	case d.URL == "":
		return fmt.Sprintf("pid %d, starting", d.PID)
	}
	return fmt.Sprintf("pid %d, %s", d.PID, d.URL)
}

// devOwner is the claim of this process on a data folder.
type devOwner struct {
	dir  string
	lock *os.File
	info devInstance
}

// claimDataDir makes this process the owner of dataDir, or says which
// `taruvi dev` owns it. Readers hold the lock for an instant, so a held
// lock is tried a few times before it counts as an owner.
func claimDataDir(dataDir string) (*devOwner, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data folder (TARUVI_DATA_DIR): %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dataDir, devLockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data folder (TARUVI_DATA_DIR): %w", err)
	}
	for attempt := 1; ; attempt++ {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EWOULDBLOCK) || attempt == 10 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if errors.Is(err, syscall.EWOULDBLOCK) {
		f.Close()
		running := readDevInstance(dataDir)
		return nil, fmt.Errorf("taruvi dev is already running on %s (%s): use it, or stop it (Ctrl-C where it runs) first; "+
			"to run another beside it, give this one another TARUVI_DATA_DIR and TARUVI_HTTP_ADDR", dataDir, running)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock the data folder %s: %w", dataDir, err)
	}
	o := &devOwner{dir: dataDir, lock: f, info: devInstance{PID: os.Getpid()}}
	if err := o.publish(); err != nil {
		o.release()
		return nil, err
	}
	return o, nil
}

// publish writes o's description whole.
func (o *devOwner) publish() error {
	b, err := json.Marshal(o.info)
	if err != nil {
		return err
	}
	if err := writeFileWhole(filepath.Join(o.dir, devInfoFile), append(b, '\n')); err != nil {
		return fmt.Errorf("describe the dev instance: %w", err)
	}
	return nil
}

// writeFileWhole writes data to path by renaming a full copy into place,
// so that a reader sees the old content or the new, never half of it.
func writeFileWhole(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// serving records the platform URL, the database and which secret key
// the instance runs with.
func (o *devOwner) serving(url, databaseURL, secretKey string) error {
	o.info.URL, o.info.DatabaseURL, o.info.SecretKeyID = url, databaseURL, secretKeyID(secretKey)
	return o.publish()
}

// secretKeyID names a secret key without revealing it: the first 16 hex
// digits of its SHA-256.
func secretKeyID(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:8])
}

// release gives the data folder up: the description goes first, then the
// lock.
func (o *devOwner) release() {
	_ = os.Remove(filepath.Join(o.dir, devInfoFile))
	o.lock.Close()
}

// runningDev returns the `taruvi dev` that owns dataDir while its process
// is alive; false when none does.
func runningDev(dataDir string) (devInstance, bool) {
	f, err := os.Open(filepath.Join(dataDir, devLockFile))
	if err != nil {
		return devInstance{}, false
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		return devInstance{}, false // taken (and dropped with the file) or unlockable: no owner alive
	}
	return readDevInstance(dataDir), true
}

// readDevInstance reads dev.json; an owner that has not written it yet is
// "starting".
func readDevInstance(dataDir string) devInstance {
	var d devInstance
	if b, err := os.ReadFile(filepath.Join(dataDir, devInfoFile)); err == nil {
		_ = json.Unmarshal(b, &d)
	}
	return d
}

// loadOperatorConfig is loadConfig for the commands that act on a
// database: with TARUVI_DATABASE_URL unset, they use the database of the
// `taruvi dev` running on TARUVI_DATA_DIR, and say so on w.
func loadOperatorConfig(e env) (config.Config, error) {
	cfg, err := loadConfig(e)
	if err != nil || cfg.DatabaseURL != "" {
		return cfg, err
	}
	if d, ok := runningDev(cfg.DataDir); ok && d.DatabaseURL != "" {
		cfg.DatabaseURL = d.DatabaseURL
		fmt.Fprintf(e.stderr, "TARUVI_DATABASE_URL is not set: using the database of taruvi dev (%s): %s\n", d, maskedDatabaseURL(cfg))
	}
	return cfg, nil
}

// withRunningDevSecret returns e with the secret key of the `taruvi dev`
// whose database loadOperatorConfig picks (TARUVI_DATABASE_URL unset, one
// running on TARUVI_DATA_DIR), for commands that seal with it: read from
// its secret_key file when TARUVI_SECRET_KEY is unset, refused when
// TARUVI_SECRET_KEY is another key than the instance's.
func withRunningDevSecret(e env, cfg config.Config) (env, error) {
	if cfg.DatabaseURL != "" {
		return e, nil
	}
	d, ok := runningDev(cfg.DataDir)
	if !ok || d.DatabaseURL == "" {
		return e, nil
	}
	if cfg.SecretKey != "" {
		if secretKeyID(cfg.SecretKey) != d.SecretKeyID {
			return e, fmt.Errorf("TARUVI_SECRET_KEY is not the secret key of the taruvi dev (%s) whose database this would use: "+
				"unset it to use the dev's own, or set TARUVI_DATABASE_URL to another database", d)
		}
		return e, nil
	}
	key, err := os.ReadFile(filepath.Join(cfg.DataDir, devSecretFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return e, fmt.Errorf("secret key of taruvi dev: %w", err)
	}
	secret := strings.TrimSpace(string(key))
	if secretKeyID(secret) != d.SecretKeyID {
		return e, fmt.Errorf("TARUVI_SECRET_KEY is not set, and the taruvi dev (%s) whose database this would use runs with a TARUVI_SECRET_KEY of its own: set the same one", d)
	}
	return withSecretKey(e, secret), nil
}

// maskedDatabaseURL is cfg's database URL with its password masked.
func maskedDatabaseURL(cfg config.Config) string {
	for _, entry := range cfg.Entries() {
		if entry.Name == "TARUVI_DATABASE_URL" {
			return entry.Value
		}
	}
	return ""
}
