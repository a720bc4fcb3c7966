package app

import (
	"runtime/debug"
	"testing"
)

func TestSetMemoryLimit_FromTheFunctionsMemorySize(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	env := map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048"}
	get := func(k string) string { return env[k] }
	if got, want := SetMemoryLimit(get, 0.5), int64(1024<<20); got != want || debug.SetMemoryLimit(-1) != want {
		t.Fatalf("limit %d (runtime %d), want %d", got, debug.SetMemoryLimit(-1), want)
	}
	env["GOMEMLIMIT"] = "100MiB"
	if got := SetMemoryLimit(get, 0.5); got != 0 {
		t.Fatalf("GOMEMLIMIT set, but the limit was set to %d", got)
	}
	delete(env, "GOMEMLIMIT")
	env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = ""
	if got := SetMemoryLimit(get, 0.5); got != 0 {
		t.Fatalf("no memory size, but the limit was set to %d", got)
	}
}
