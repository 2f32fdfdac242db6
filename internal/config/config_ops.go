package config

// OpsConfig configures the cache, rate limits, HTTP security headers and the
// debug listener.
type OpsConfig struct{}

func opsVariables() []Variable {
	return nil
}
