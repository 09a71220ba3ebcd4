package s3test

import (
	"testing"
)

// fakeTB records Skip and Fatal instead of stopping the test.
type fakeTB struct {
	testing.TB
	skipped, failed bool
}

func (f *fakeTB) Helper()               {}
func (f *fakeTB) Skip(...any)           { f.skipped = true }
func (f *fakeTB) Fatal(...any)          { f.failed = true }
func (f *fakeTB) Skipf(string, ...any)  { f.skipped = true }
func (f *fakeTB) Fatalf(string, ...any) { f.failed = true }

func TestEndpointMissing(t *testing.T) {
	tests := []struct {
		name, ci      string
		skip, failure bool
	}{
		{name: "developer", ci: "", skip: true},
		{name: "CI", ci: "true", failure: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvEndpoint, "")
			t.Setenv("CI", tt.ci)
			f := &fakeTB{TB: t}
			Endpoint(f)
			if f.skipped != tt.skip || f.failed != tt.failure {
				t.Errorf("skipped %t, failed %t; want %t, %t", f.skipped, f.failed, tt.skip, tt.failure)
			}
		})
	}
}

func TestEndpointSet(t *testing.T) {
	t.Setenv(EnvEndpoint, "http://127.0.0.1:1")
	t.Setenv(EnvAccessKey, "a")
	t.Setenv(EnvSecretKey, "s")
	f := &fakeTB{TB: t}
	e, a, s := Endpoint(f)
	if f.skipped || f.failed || e != "http://127.0.0.1:1" || a != "a" || s != "s" {
		t.Errorf("Endpoint = %q, %q, %q (skipped %t, failed %t)", e, a, s, f.skipped, f.failed)
	}
}
