package runtimeapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// echoBin is testdata/echo built as a static provided.al2023 bootstrap.
var echoBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "runtimeapi-")
	if err != nil {
		panic(err)
	}
	echoBin = filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", echoBin, "./testdata/echo")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build echo: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type answer struct {
	Echo        string `json:"echo"`
	RequestID   string `json:"requestId"`
	DeadlineMs  int64  `json:"deadlineMs"`
	FunctionArn string `json:"functionArn"`
	PID         int    `json:"pid"`
	Env         string `json:"env"`
	Blob        string `json:"blob"`
}

func newFunction(t *testing.T, timeout time.Duration) (*Function, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	f := &Function{Path: echoBin, Name: "echo", Timeout: timeout, MemoryMB: 512, Stdout: logs, Stderr: logs,
		Env: map[string]string{"CUSTOM": "yes", "AWS_REGION": "eu-west-1"}}
	t.Cleanup(func() { f.Close() })
	return f, logs
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func invoke(t *testing.T, f *Function, event string) (Result, answer) {
	t.Helper()
	res, err := f.Invoke(context.Background(), []byte(event))
	if err != nil {
		t.Fatal(err)
	}
	var a answer
	if res.Error == nil {
		if err := json.Unmarshal(res.Payload, &a); err != nil {
			t.Fatalf("payload %q: %v", res.Payload, err)
		}
	}
	return res, a
}

func TestInvoke_ColdThenWarmWithLambdaContext(t *testing.T) {
	f, logs := newFunction(t, 60*time.Second)
	before := time.Now()
	res, a := invoke(t, f, `{"do":"echo","echo":"hi"}`)
	if res.Error != nil || a.Echo != "hi" {
		t.Fatalf("result %+v %+v", res, a)
	}
	if !res.ColdStart || res.InitDuration <= 0 || res.InitDuration > 60*time.Second {
		t.Errorf("first invocation: cold %v, init %v", res.ColdStart, res.InitDuration)
	}
	if a.RequestID != res.RequestID || len(a.RequestID) != 36 {
		t.Errorf("function saw request id %q, harness sent %q", a.RequestID, res.RequestID)
	}
	// The deadline the function sees is the invocation's timeout from now.
	dl := time.UnixMilli(a.DeadlineMs)
	if dl.Before(before.Add(59*time.Second)) || dl.After(time.Now().Add(60*time.Second)) {
		t.Errorf("deadline %v, want about 60 s after %v", dl, before)
	}
	if a.FunctionArn != "arn:aws:lambda:us-east-1:000000000000:function:echo" {
		t.Errorf("function ARN %q", a.FunctionArn)
	}

	res2, a2 := invoke(t, f, `{"do":"echo","echo":"again"}`)
	if res2.Error != nil || a2.Echo != "again" || res2.ColdStart || res2.InitDuration != 0 {
		t.Errorf("warm invocation %+v %+v", res2, a2)
	}
	if a2.PID != a.PID || a.PID != f.PID() {
		t.Errorf("warm invocation ran in process %d, first in %d (harness says %d)", a2.PID, a.PID, f.PID())
	}
	if res2.RequestID == res.RequestID {
		t.Error("request ids repeat")
	}
	if !strings.Contains(logs.String(), "handling echo") {
		t.Errorf("function's stdout not captured: %q", logs.String())
	}
}

func TestInvoke_EnvironmentIsLambdas(t *testing.T) {
	f, _ := newFunction(t, 60*time.Second)
	_, a := invoke(t, f, `{"do":"env"}`)
	env := map[string]string{}
	for _, kv := range strings.Split(a.Env, "\n") {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for k, want := range map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          f.Addr(),
		"AWS_LAMBDA_FUNCTION_NAME":        "echo",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
		"_HANDLER":                        "bootstrap",
		"LAMBDA_TASK_ROOT":                "/var/task",
		"AWS_REGION":                      "eu-west-1",
		"AWS_DEFAULT_REGION":              "eu-west-1",
		"CUSTOM":                          "yes",
	} {
		if env[k] != want {
			t.Errorf("%s = %q, want %q", k, env[k], want)
		}
	}
	if !strings.HasSuffix(env["LD_LIBRARY_PATH"], ":/opt/lib") || !strings.HasSuffix(env["PATH"], ":/opt/bin") {
		t.Errorf("PATH %q, LD_LIBRARY_PATH %q: not Lambda's", env["PATH"], env["LD_LIBRARY_PATH"])
	}
}

func TestInvoke_FunctionErrorsAndPanics(t *testing.T) {
	f, _ := newFunction(t, 60*time.Second)
	res, _ := invoke(t, f, `{"do":"error"}`)
	if res.Error == nil || res.Error.Message != "asked to fail" || res.Error.Type != "errorString" {
		t.Errorf("error result %+v", res.Error)
	}
	res, _ = invoke(t, f, `{"do":"panic"}`)
	// aws-lambda-go reports a panic's value's type as the error type and
	// its stack as objects.
	if res.Error == nil || res.Error.Message != "asked to panic" || res.Error.Type != "string" || !strings.Contains(string(res.Error.StackTrace), `"label":"main.func1"`) {
		t.Errorf("panic result %+v", res.Error)
	}
	// aws-lambda-go reports a panic and exits; the next event cold-starts.
	res, a := invoke(t, f, `{"do":"echo","echo":"after"}`)
	if res.Error != nil || a.Echo != "after" {
		t.Errorf("after a panic: %+v %+v", res, a)
	}
}

func TestInvoke_DeadlineKillsAndTheNextEventStartsAFreshProcess(t *testing.T) {
	// Only the sleeping event has the short timeout: a cold start on a
	// loaded machine can take longer than 700 ms.
	f, _ := newFunction(t, 60*time.Second)
	_, first := invoke(t, f, `{"do":"echo"}`)
	start := time.Now()
	f.Timeout = 700 * time.Millisecond
	res, _ := invoke(t, f, `{"do":"sleep"}`)
	f.Timeout = 60 * time.Second
	if !res.TimedOut || res.Error == nil || res.Error.Type != "Sandbox.Timedout" || !strings.Contains(res.Error.Message, "Task timed out after 0.70 seconds") {
		t.Fatalf("sleeping past the deadline: %+v", res)
	}
	if waited := time.Since(start); waited > 30*time.Second {
		t.Errorf("the harness waited %v for a 700 ms deadline", waited)
	}
	if f.PID() != 0 {
		t.Error("the timed-out process still runs")
	}
	res, a := invoke(t, f, `{"do":"echo","echo":"fresh"}`)
	if res.Error != nil || !res.ColdStart || a.PID == first.PID {
		t.Errorf("after a timeout: cold %v, pid %d (was %d), %+v", res.ColdStart, a.PID, first.PID, res.Error)
	}
}

func TestInvoke_ExitMidInvocationIsAnExitError(t *testing.T) {
	f, _ := newFunction(t, 60*time.Second)
	res, _ := invoke(t, f, `{"do":"exit"}`)
	if res.Error == nil || res.Error.Type != "Runtime.ExitError" || !strings.Contains(res.Error.Message, "exit status 7") {
		t.Fatalf("exit: %+v", res.Error)
	}
	if res, a := invoke(t, f, `{"do":"echo","echo":"x"}`); res.Error != nil || !res.ColdStart || a.Echo != "x" {
		t.Errorf("after exit: %+v", res)
	}
}

func TestInvoke_InitFailures(t *testing.T) {
	for _, mode := range []string{"exit", "report"} {
		t.Run(mode, func(t *testing.T) {
			f, logs := newFunction(t, 60*time.Second)
			f.Env["ECHO_FAIL_INIT"] = mode
			res, _ := invoke(t, f, `{"do":"echo"}`)
			switch mode {
			case "exit":
				if res.Error == nil || res.Error.Type != "Runtime.ExitError" || !strings.Contains(logs.String(), "failing on purpose") {
					t.Errorf("init exit: %+v, logs %q", res.Error, logs.String())
				}
			case "report":
				if res.Error == nil || res.Error.Type != "Config.Missing" || res.Error.Message != "TABLE_NAME is not set" {
					t.Errorf("init error: %+v", res.Error)
				}
			}
			if f.PID() != 0 {
				t.Error("the failed process still runs")
			}
		})
	}
}

func TestInvoke_ResponseOverSixMBIsRefused(t *testing.T) {
	f, _ := newFunction(t, 60*time.Second)
	res, _ := invoke(t, f, fmt.Sprintf(`{"do":"big","size":%d}`, MaxResponseBytes))
	if res.Error == nil || res.Error.Type != "Function.ResponseSizeTooLarge" {
		t.Errorf("oversized response: %+v", res.Error)
	}
	res, a := invoke(t, f, `{"do":"big","size":1000}`)
	if res.Error != nil || len(a.Blob) != 1000 {
		t.Errorf("a small response after a big one: %+v", res.Error)
	}
}

func TestInvoke_ConcurrentCallsAreServedOneAtATime(t *testing.T) {
	f, _ := newFunction(t, 60*time.Second)
	var wg sync.WaitGroup
	pids := make([]int, 4)
	errs := make([]error, 4)
	for i := range pids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := f.Invoke(context.Background(), []byte(fmt.Sprintf(`{"do":"echo","echo":"%d"}`, i)))
			var a answer
			if err == nil && res.Error == nil {
				err = json.Unmarshal(res.Payload, &a)
			}
			if err == nil && a.Echo != fmt.Sprint(i) {
				err = fmt.Errorf("answer %q to event %d", a.Echo, i)
			}
			pids[i], errs[i] = a.PID, err
		}()
	}
	wg.Wait()
	for i := range pids {
		if errs[i] != nil || pids[i] != pids[0] {
			t.Errorf("invocation %d: pid %d (first %d), %v", i, pids[i], pids[0], errs[i])
		}
	}
}

func TestAPI_UnknownRequestIDsAreRefused(t *testing.T) {
	f, _ := newFunction(t, 60*time.Second)
	invoke(t, f, `{"do":"echo"}`) // starts the server
	for _, path := range []string{"/invocation/nope/response", "/invocation/nope/error"} {
		resp, err := http.Post("http://"+f.Addr()+prefix+path, "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		var e FunctionError
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || e.Type != "InvalidRequestID" {
			t.Errorf("POST %s = %d %+v", path, resp.StatusCode, e)
		}
	}
	resp, err := http.Get("http://" + f.Addr() + prefix + "/invocation/nope/response")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET on a response path = %d", resp.StatusCode)
	}
}

// TestChroot_StaticBootstrapRunsInAnEmptyRoot runs the bootstrap alone in
// an empty directory as its root, as internal/portable does with the real
// function.
func TestChroot_StaticBootstrapRunsInAnEmptyRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chroot needs root")
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "var", "task"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(echoBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "var", "task", "bootstrap"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	f, _ := newFunction(t, 60*time.Second)
	f.Path, f.Chroot = "/var/task/bootstrap", root
	res, a := invoke(t, f, `{"do":"echo","echo":"rooted"}`)
	if res.Error != nil || a.Echo != "rooted" {
		t.Fatalf("in a chroot: %+v %+v", res.Error, a)
	}
}

// TestInvoke_NextBeforeStartReturnsStillRecordsTheInit holds the harness
// right after the process has started until the process has asked for its
// first event: the order a loaded machine produced at random, which lost
// the init duration while the process was registered after cmd.Start.
func TestInvoke_NextBeforeStartReturnsStillRecordsTheInit(t *testing.T) {
	f, _ := newFunction(t, 60*time.Second)
	asked := make(chan struct{})
	var once sync.Once
	var firstAsk time.Time
	f.hookNext = func() { once.Do(func() { firstAsk = time.Now(); close(asked) }) }
	f.hookStarted = func() {
		select {
		case <-asked:
		case <-time.After(30 * time.Second):
			t.Error("the process never asked for an event")
		}
	}
	res, a := invoke(t, f, `{"do":"echo","echo":"early"}`)
	if res.Error != nil || a.Echo != "early" {
		t.Fatalf("result %+v %+v", res, a)
	}
	if !res.ColdStart || res.InitDuration <= 0 {
		t.Errorf("cold %v, init %v: the first /next was not attributed to the process", res.ColdStart, res.InitDuration)
	}
	// Lost, the first /next would be taken from the one after the answer,
	// which gives an init duration too: so compare the times themselves.
	f.mu.Lock()
	noted := f.proc.firstNext
	f.mu.Unlock()
	if noted.After(firstAsk) {
		t.Errorf("init ended at the /next %v after the first one", noted.Sub(firstAsk))
	}
}

func TestInvoke_ReportsPeakMemoryAndLambdasLogLines(t *testing.T) {
	f, logs := newFunction(t, 60*time.Second)
	res, a := invoke(t, f, `{"do":"alloc","mb":100,"echo":"ok"}`)
	if res.Error != nil || a.Echo != "ok" {
		t.Fatalf("alloc: %+v", res.Error)
	}
	// 100 MB touched, in a 512 MB function; the Go runtime adds a few MB.
	if res.MaxMemoryUsedMB < 100 || res.MaxMemoryUsedMB >= 512 {
		t.Errorf("max memory used %d MB after touching 100 MB", res.MaxMemoryUsedMB)
	}
	out := logs.String()
	for _, want := range []string{
		"START RequestId: " + res.RequestID + " Version: $LATEST\n",
		"END RequestId: " + res.RequestID + "\n",
		fmt.Sprintf("REPORT RequestId: %s\tDuration: ", res.RequestID),
		fmt.Sprintf("\tMemory Size: 512 MB\tMax Memory Used: %d MB\tInit Duration: ", res.MaxMemoryUsedMB),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "Billed Duration: ") {
		t.Errorf("no billed duration:\n%s", out)
	}
}

func TestInvoke_OverTheMemorySizeIsOutOfMemoryAndTheNextEventStartsFresh(t *testing.T) {
	f, logs := newFunction(t, 60*time.Second)
	f.MemoryMB = 128
	_, first := invoke(t, f, `{"do":"echo"}`)
	res, _ := invoke(t, f, `{"do":"alloc","mb":200}`)
	if res.Error == nil || res.Error.Type != "Runtime.OutOfMemory" || !res.OutOfMemory || res.Payload != nil {
		t.Fatalf("200 MB in a 128 MB function: %+v", res)
	}
	if res.MaxMemoryUsedMB <= 128 {
		t.Errorf("max memory used %d MB, over the limit it was killed for", res.MaxMemoryUsedMB)
	}
	if f.PID() != 0 {
		t.Error("the process that ran out of memory still runs")
	}
	if !strings.Contains(logs.String(), "Status: error\tError Type: Runtime.OutOfMemory\n") {
		t.Errorf("REPORT without the error type:\n%s", logs.String())
	}
	res, a := invoke(t, f, `{"do":"echo","echo":"fresh"}`)
	if res.Error != nil || !res.ColdStart || a.PID == first.PID {
		t.Errorf("after running out of memory: %+v, pid %d (was %d)", res, a.PID, first.PID)
	}
}

// TestInvoke_MemoryCountsTheWholeProcessGroup: a child the function starts
// (pdftoppm, for the process function) counts against its memory, as in
// Lambda's cgroup.
func TestInvoke_MemoryCountsTheWholeProcessGroup(t *testing.T) {
	f, _ := newFunction(t, 60*time.Second)
	res, a := invoke(t, f, `{"do":"spawn","mb":150}`)
	if res.Error != nil || a.Echo != "ready" {
		t.Fatalf("spawn: %+v %+v", res.Error, a)
	}
	if res.MaxMemoryUsedMB < 150 {
		t.Errorf("max memory used %d MB with a child holding 150 MB", res.MaxMemoryUsedMB)
	}

	g, _ := newFunction(t, 60*time.Second)
	g.MemoryMB = 128
	res, _ = invoke(t, g, `{"do":"spawn","mb":200}`)
	if res.Error == nil || res.Error.Type != "Runtime.OutOfMemory" {
		t.Fatalf("a child holding 200 MB in a 128 MB function: %+v", res)
	}

	// Neither process over the limit, together over it: found once two
	// samples agree, well within the 3 s sleep.
	h, _ := newFunction(t, 60*time.Second)
	h.MemoryMB = 128
	if res, _ := invoke(t, h, `{"do":"spawn","mb":80,"size":80}`); res.Error != nil && res.Error.Type != "Runtime.OutOfMemory" {
		t.Fatalf("spawn: %+v", res.Error)
	} else if res.Error == nil {
		res, _ = invoke(t, h, `{"do":"sleep","ms":3000}`)
		if res.Error == nil || res.Error.Type != "Runtime.OutOfMemory" {
			t.Errorf("80 MB and a child's 80 MB in a 128 MB function: %+v", res)
		}
	}
}

// hold returns an event for the echo function's hold mode, which says it
// started and waits until dir/release exists.
func hold(dir, name string) []byte {
	return []byte(fmt.Sprintf(`{"do":"hold","dir":%q,"name":%q}`, dir, name))
}

// waitStarted waits until the hold invocations named have started.
func waitStarted(t *testing.T, dir string, names ...string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for _, n := range names {
		for {
			if _, err := os.Stat(filepath.Join(dir, n+".started")); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never started", n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func newPool(t *testing.T, size int) *Pool {
	t.Helper()
	p := &Pool{Size: size, New: func() *Function {
		return &Function{Path: echoBin, Name: "echo", Timeout: 60 * time.Second, MemoryMB: 256}
	}}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestPool_ThrottlesWhenEveryContainerIsBusyAndReusesWarmOnes(t *testing.T) {
	p := newPool(t, 2)
	dir := t.TempDir()
	type done struct {
		res Result
		err error
	}
	results := make(chan done, 2)
	for _, n := range []string{"a", "b"} {
		go func() {
			res, err := p.Invoke(context.Background(), Request{Payload: hold(dir, n)})
			results <- done{res, err}
		}()
	}
	waitStarted(t, dir, "a", "b")
	if _, err := p.Invoke(context.Background(), Request{Payload: []byte(`{"do":"echo"}`)}); err != ErrThrottled {
		t.Errorf("a third call with two containers busy: %v, want ErrThrottled", err)
	}
	os.WriteFile(filepath.Join(dir, "release"), nil, 0o644)
	pids := map[int]bool{}
	for range 2 {
		d := <-results
		var a answer
		if d.err != nil || d.res.Error != nil || json.Unmarshal(d.res.Payload, &a) != nil {
			t.Fatalf("held invocation: %v %+v", d.err, d.res)
		}
		pids[a.PID] = true
	}
	if len(pids) != 2 || p.Containers() != 2 {
		t.Errorf("two concurrent invocations ran in %d processes, pool has %d containers", len(pids), p.Containers())
	}
	for range 3 {
		res, err := p.Invoke(context.Background(), Request{Payload: []byte(`{"do":"echo"}`)})
		var a answer
		json.Unmarshal(res.Payload, &a)
		if err != nil || res.ColdStart || !pids[a.PID] {
			t.Errorf("sequential call: %v, cold %v, pid %d not one of the warm %v", err, res.ColdStart, a.PID, pids)
		}
	}
	if p.Containers() != 2 {
		t.Errorf("%d containers after sequential calls", p.Containers())
	}
}

func TestPool_ACrashedContainerIsReplaced(t *testing.T) {
	p := newPool(t, 1)
	ctx := context.Background()
	res, err := p.Invoke(ctx, Request{ID: "first-event", Payload: []byte(`{"do":"echo"}`)})
	var first answer
	if err != nil || json.Unmarshal(res.Payload, &first) != nil || res.RequestID != "first-event" {
		t.Fatalf("first: %v %+v", err, res)
	}
	for _, ev := range []string{`{"do":"panic"}`, `{"do":"exit"}`} {
		if res, err := p.Invoke(ctx, Request{Payload: []byte(ev)}); err != nil || res.Error == nil {
			t.Fatalf("%s: %v %+v", ev, err, res)
		}
		res, err := p.Invoke(ctx, Request{Payload: []byte(`{"do":"echo","echo":"next"}`)})
		var a answer
		if err != nil || json.Unmarshal(res.Payload, &a) != nil || a.Echo != "next" || !res.ColdStart || a.PID == first.PID {
			t.Errorf("after %s: %v, cold %v, pid %d (first %d)", ev, err, res.ColdStart, a.PID, first.PID)
		}
		first = a
		if p.Containers() != 1 {
			t.Errorf("after %s: %d containers", ev, p.Containers())
		}
	}
}

func TestPool_AcquireWaitsForAFreeContainer(t *testing.T) {
	p := newPool(t, 1)
	dir := t.TempDir()
	go p.Invoke(context.Background(), Request{Payload: hold(dir, "a")})
	waitStarted(t, dir, "a")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := p.Acquire(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Acquire with the only container busy: %v", err)
	}
	got := make(chan error, 1)
	go func() {
		f, err := p.Acquire(context.Background())
		if err == nil {
			p.Release(f)
		}
		got <- err
	}()
	os.WriteFile(filepath.Join(dir, "release"), nil, 0o644)
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Acquire did not get the released container")
	}
}

// TestInvoke_LogsNeedNotBeSafeForConcurrentWrites: the process's output
// and the harness's own lines reach a plain bytes.Buffer one at a time (run
// with -race).
func TestInvoke_LogsNeedNotBeSafeForConcurrentWrites(t *testing.T) {
	var logs bytes.Buffer
	f := &Function{Path: echoBin, Timeout: 60 * time.Second, MemoryMB: 256, Stdout: &logs, Stderr: &logs}
	for range 3 {
		if res, err := f.Invoke(context.Background(), []byte(`{"do":"echo"}`)); err != nil || res.Error != nil {
			t.Fatal(err, res.Error)
		}
	}
	f.Close() // the process has ended, and with it the copying of its output
	if n := strings.Count(logs.String(), "REPORT RequestId: "); n != 3 {
		t.Errorf("%d REPORT lines for 3 invocations:\n%s", n, logs.String())
	}
}

// TestInvoke_TheFunctionsLinesComeBetweenStartAndEnd: what the process
// wrote before it answered is in the log before END and REPORT, as in
// Lambda's log stream, though it goes through a pipe.
func TestInvoke_TheFunctionsLinesComeBetweenStartAndEnd(t *testing.T) {
	f, logs := newFunction(t, 60*time.Second)
	for i := range 20 {
		res, _ := invoke(t, f, `{"do":"echo"}`)
		out := logs.String()
		start := strings.Index(out, "START RequestId: "+res.RequestID)
		line := strings.LastIndex(out, "handling echo")
		end := strings.Index(out, "END RequestId: "+res.RequestID)
		if start < 0 || !(start < line && line < end) {
			t.Fatalf("invocation %d: START at %d, the function's line at %d, END at %d:\n%s", i, start, line, end, out)
		}
	}
}

// TestInvoke_OutOfMemoryFoundAfterTheAnswerDoesNotLoseTheNextEvent: when
// only the last sample finds the peak, the process has answered and already
// asked for its next event; that request, from a killed process, may still
// wait in the API when the next event comes, which must go to the new
// process.
func TestInvoke_OutOfMemoryFoundAfterTheAnswerDoesNotLoseTheNextEvent(t *testing.T) {
	f, _ := newFunction(t, 60*time.Second)
	f.MemoryMB = 128
	f.memInterval = time.Hour // only the last sample of each invocation
	for i := range 5 {
		res, _ := invoke(t, f, `{"do":"alloc","mb":160}`)
		if !res.OutOfMemory {
			t.Fatalf("round %d: 160 MB in 128: %+v", i, res)
		}
		res, b := invoke(t, f, `{"do":"echo","echo":"next"}`)
		if res.Error != nil || b.Echo != "next" || !res.ColdStart {
			t.Fatalf("round %d, the event after: %+v %+v", i, res, b)
		}
	}
}
