package walkforwardjob_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/tradai/tradai/internal/jobs/walkforwardjob"
	"github.com/tradai/tradai/internal/study"
)

// A walk-forward's settings come from a tenant's request: Validate never
// panics, names every problem by a field, and what it accepts has
// lengths above 0 with the step at least the test.
func FuzzSpecValidate(f *testing.F) {
	f.Add(`{"train":"8d","test":"4d","epochs":10}`)
	f.Add(`{"train":"90d","test":"30d","step":"10d","anchored":true,"epochs":5,"loss":"nope","sampler":"tpe","jobs":-1}`)
	f.Add(`{"train":"0d","test":"1x","spaces":["buy","sideways"],"epochs":0,"min_trades":-3}`)
	f.Fuzz(func(t *testing.T, body string) {
		var s walkforwardjob.Spec
		if json.Unmarshal([]byte(body), &s) != nil {
			return
		}
		s = s.WithDefaults()
		err := s.Validate()
		if err == nil {
			train, test, step, serr := s.Spans()
			if serr != nil || train <= 0 || test <= 0 || step < test {
				t.Fatalf("accepted %+v: spans %v %v %v %v", s, train, test, step, serr)
			}
			return
		}
		var errs []error
		stack := []error{err}
		for len(stack) > 0 {
			e := stack[0]
			stack = stack[1:]
			var fe *study.FieldError
			if multi, ok := e.(interface{ Unwrap() []error }); ok {
				stack = append(stack, multi.Unwrap()...)
				continue
			}
			if !errors.As(e, &fe) || fe.Field == "" {
				t.Fatalf("%+v: a problem without a field: %v", s, e)
			}
			errs = append(errs, e)
		}
		if len(errs) == 0 {
			t.Fatalf("%+v: refused with no field named: %v", s, err)
		}
	})
}
