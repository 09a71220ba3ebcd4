package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/bedrock-batch/bedrock-batch/bedrocktest"
)

// binary is the batch command built once for the end-to-end tests, which
// run it as a user would: a separate process with flags and environment.
var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	// Most end-to-end tests spend their time waiting on the real clock (a
	// quota, a lease, an emulator's latency, a subprocess), not using a
	// core: those marked parallel run side by side, more of them than the
	// machine has cores, unless -parallel says how many.
	if !flagGiven("test.parallel") {
		flag.Set("test.parallel", fmt.Sprint(max(8, runtime.GOMAXPROCS(0))))
	}
	dir, err := os.MkdirTemp("", "batch-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "batch")
	// The binary is built with the race detector, as the tests are.
	build := exec.Command("go", "build", "-race", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building batch:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// flagGiven reports whether the command line set the flag name.
func flagGiven(name string) bool {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// raceExit stops the race-built binary's runtime from sleeping a second
// before every exit (GORACE's atexit_sleep_ms defaults to 1000): the suite
// runs the binary hundreds of times, and would spend minutes idle. A race
// is still reported, and still fails the run with exit status 66.
const raceExit = "GORACE=atexit_sleep_ms=0"

// batchCommand is the binary, ready to start, with exactly env plus
// raceExit, ended when ctx is.
func batchCommand(ctx context.Context, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(slices.Clip(env), raceExit)
	return cmd
}

// result is what one run of the binary did.
type result struct {
	code           int
	stdout, stderr string
}

// runBatch runs the binary with dummy credentials pointed at endpoint (if
// not empty) and returns its exit code and output.
func runBatch(t *testing.T, endpoint string, args ...string) result {
	t.Helper()
	return runBatchEnv(t, endpoint, nil, args...)
}

// runBatchEnv is runBatch with more environment variables.
func runBatchEnv(t *testing.T, endpoint string, extraEnv []string, args ...string) result {
	t.Helper()
	return runBatchRaw(t, append(emulatorEnv(endpoint), extraEnv...), args...)
}

// runBatchRaw runs the binary with exactly env.
func runBatchRaw(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := batchCommand(context.Background(), env, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("running batch: %v", err)
	}
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// emulatorEnv is a clean environment with static dummy credentials, so no
// test can reach a real AWS account or a developer's profile.
func emulatorEnv(endpoint string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.TempDir(),
		"AWS_ACCESS_KEY_ID=AKIDTEST",
		"AWS_SECRET_ACCESS_KEY=secret-test",
		"AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
	}
	if endpoint != "" {
		// The emulator serves Service Quotas and the control plane's
		// model list too, on the same address.
		env = append(env, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME="+endpoint, "AWS_ENDPOINT_URL_SERVICE_QUOTAS="+endpoint,
			"AWS_ENDPOINT_URL_BEDROCK="+endpoint)
	}
	return env
}

// startEmulator starts a bedrocktest server for one test.
func startEmulator(t *testing.T, opts bedrocktest.Options) *bedrocktest.Server {
	t.Helper()
	srv := bedrocktest.NewServer(opts)
	t.Cleanup(srv.Close)
	return srv
}
