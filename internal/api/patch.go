package api

import (
	"encoding/json"
	"net/http"

	"taruvi"
)

// Optional is a JSON member that remembers whether it was sent and whether
// it was null, so that PATCH can tell "leave as it is" from "clear" and PUT
// can insist on every field.
type Optional[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// UnmarshalJSON implements json.Unmarshaler.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.Value)
}

// FieldChecker collects what is wrong with the members of a PATCH or PUT
// body. full (PUT) requires every member.
type FieldChecker struct {
	full     bool
	problems map[string]string
	set      int
}

// NewFieldChecker returns the checker of r's body: PUT requires every
// member, PATCH some.
func NewFieldChecker(r *http.Request) *FieldChecker {
	return &FieldChecker{full: r.Method == http.MethodPut, problems: map[string]string{}}
}

// Value returns the member's value, or nil when it was not sent.
func Value[T any](c *FieldChecker, name string, o Optional[T]) *T {
	switch {
	case !o.Set:
		if c.full {
			c.problems[name] = "This field is required."
		}
		return nil
	case o.Null:
		c.problems[name] = "This field may not be null."
		return nil
	}
	c.set++
	return &o.Value
}

// Clearable is Value for a member that may be null: null becomes a
// pointer to cleared.
func Clearable[T any](c *FieldChecker, name string, o Optional[T], cleared T) *T {
	if o.Set && o.Null {
		c.set++
		return &cleared
	}
	return Value(c, name, o)
}

// Problem records what is wrong with member name, beyond what Value and
// Clearable check.
func (c *FieldChecker) Problem(name, problem string) { c.problems[name] = problem }

// Err is the error for what was found, if anything.
func (c *FieldChecker) Err() error {
	if len(c.problems) > 0 {
		return &taruvi.Error{Code: taruvi.EINVALID, Message: "Invalid request.", Fields: c.problems}
	}
	if c.set == 0 {
		return taruvi.Errorf(taruvi.EINVALID, "Give at least one field to change.")
	}
	return nil
}
