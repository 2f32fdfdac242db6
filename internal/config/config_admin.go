package config

// AdminConfig configures the admin web UI.
type AdminConfig struct{}

func adminVariables() []Variable {
	return nil
}
