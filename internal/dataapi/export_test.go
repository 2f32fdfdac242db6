package dataapi

// WithObserver shows the text of every statement the service runs to fn,
// for the fuzz test's check that no request text reaches one.
func WithObserver(fn func(sql string)) Option { return func(s *Service) { s.observe = fn } }
