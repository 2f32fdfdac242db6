package config

// JobsConfig configures the background workers, the scheduler and email.
type JobsConfig struct{}

func jobsVariables() []Variable {
	return nil
}
