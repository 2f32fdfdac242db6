package config

import (
	"errors"
	"time"
)

// AdminConfig configures the admin web UI.
type AdminConfig struct {
	SessionTTL time.Duration // TARUVI_ADMIN_SESSION_TTL, default 12h: a browser session ends this long after sign-in
}

func adminVariables() []Variable {
	return []Variable{
		{Name: "TARUVI_ADMIN_SESSION_TTL", Default: "12h", Doc: "How long an admin UI sign-in lasts before the browser must sign in again (Go duration, 1m to 720h).",
			get: func(c *Config) string { return c.Admin.SessionTTL.String() },
			set: func(c *Config, v string) error {
				if err := setDuration(func(c *Config) *time.Duration { return &c.Admin.SessionTTL })(c, v); err != nil {
					return err
				}
				if c.Admin.SessionTTL < time.Minute || c.Admin.SessionTTL > 720*time.Hour {
					return errors.New("use a duration from 1m to 720h")
				}
				return nil
			}},
	}
}
