package localstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/s3ocr/s3ocr/internal/runtimeapi"
)

// echoBootstrap builds internal/runtimeapi's test function, whose event's
// "do" field says what it does (echo, error, exit, hold, alloc, …).
func echoBootstrap(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, "../runtimeapi/testdata/echo")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build echo: %v\n%s", err, out)
	}
	return bin
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startLambda(t *testing.T, specs ...FunctionSpec) *Lambda {
	t.Helper()
	l, err := StartLambda(specs, LambdaOptions{Backoff: []time.Duration{10 * time.Millisecond}, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// sdkClient is the SDK's own Lambda client pointed at l, as a function
// configured with AWS_ENDPOINT_URL_LAMBDA gets it; it does not retry, so
// that a throttle is seen.
func sdkClient(t *testing.T, l *Lambda) *lambda.Client {
	t.Helper()
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", l.Endpoint)
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("eu-west-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	if err != nil {
		t.Fatal(err)
	}
	return lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.RetryMaxAttempts = 1 })
}

func intp(n int) *int { return &n }

func TestLambda_SDKInvokesEachInvocationType(t *testing.T) {
	logs := &lockedBuffer{}
	l := startLambda(t, FunctionSpec{Name: "EchoFunction", Path: echoBootstrap(t), MemoryMB: 256, Timeout: 30 * time.Second, Log: logs})
	c := sdkClient(t, l)
	ctx := context.Background()

	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("EchoFunction"), Payload: []byte(`{"do":"echo","echo":"sync"}`)})
	if err != nil || out.StatusCode != 200 || out.FunctionError != nil || !strings.Contains(string(out.Payload), `"echo":"sync"`) || aws.ToString(out.ExecutedVersion) != "$LATEST" {
		t.Fatalf("RequestResponse: %v %+v %s", err, out, out.Payload)
	}
	if log := logs.String(); !strings.Contains(log, "handling echo\nEND RequestId: ") || !strings.Contains(log, "REPORT RequestId: ") {
		t.Errorf("the function's log lacks its output or REPORT line:\n%s", log)
	}

	out, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("EchoFunction"), Payload: []byte(`{"do":"error"}`)})
	var doc runtimeapi.FunctionError
	if err != nil || out.StatusCode != 200 || aws.ToString(out.FunctionError) != "Unhandled" || json.Unmarshal(out.Payload, &doc) != nil || doc.Message != "asked to fail" {
		t.Errorf("a function error: %v %+v %s", err, out, out.Payload)
	}

	out, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("EchoFunction"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"do":"echo"}`)})
	if err != nil || out.StatusCode != 202 || len(out.Payload) != 0 {
		t.Errorf("Event: %v %+v", err, out)
	}
	out, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("EchoFunction"), InvocationType: types.InvocationTypeDryRun})
	if err != nil || out.StatusCode != 204 {
		t.Errorf("DryRun: %v %+v", err, out)
	}
	wait, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := l.Wait(wait); err != nil {
		t.Fatal(err)
	}
	if s := l.Stats("EchoFunction"); s.Attempts != 1 || s.Failures != 0 || s.Invocations != 3 {
		t.Errorf("stats after two calls and an event: %+v", s)
	}

	for _, name := range []string{
		"arn:aws:lambda:eu-west-1:123456789012:function:EchoFunction",
		"arn:aws:lambda:us-east-1:000000000000:function:EchoFunction:$LATEST",
		"000000000000:function:EchoFunction",
		"EchoFunction:$LATEST",
	} {
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"do":"echo","echo":"named"}`)})
		if err != nil || out.FunctionError != nil || !strings.Contains(string(out.Payload), "named") {
			t.Errorf("invoked as %s: %v", name, err)
		}
	}

	var notFound *types.ResourceNotFoundException
	for _, in := range []*lambda.InvokeInput{
		{FunctionName: aws.String("NoSuchFunction")},
		{FunctionName: aws.String("EchoFunction:3")},
		{FunctionName: aws.String("EchoFunction"), Qualifier: aws.String("live")},
		{FunctionName: aws.String("NoSuchFunction"), InvocationType: types.InvocationTypeEvent},
	} {
		if _, err := c.Invoke(ctx, in); !errors.As(err, &notFound) || !strings.Contains(aws.ToString(notFound.Message), "Function not found") {
			t.Errorf("%s (qualifier %q): %v, want ResourceNotFoundException", aws.ToString(in.FunctionName), aws.ToString(in.Qualifier), err)
		}
	}

	var tooLarge *types.RequestTooLargeException
	big := []byte(`"` + strings.Repeat("x", MaxSyncPayload) + `"`)
	if _, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("EchoFunction"), Payload: big}); !errors.As(err, &tooLarge) {
		t.Errorf("a %d-byte synchronous payload: %v", len(big), err)
	}
	big = []byte(`"` + strings.Repeat("x", MaxAsyncPayload) + `"`)
	if _, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("EchoFunction"), InvocationType: types.InvocationTypeEvent, Payload: big}); !errors.As(err, &tooLarge) {
		t.Errorf("a %d-byte asynchronous payload: %v", len(big), err)
	}
	// Just under the asynchronous limit is accepted.
	ok := []byte(`{"do":"echo","echo":"` + strings.Repeat("x", MaxAsyncPayload-100) + `"}`)
	if out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("EchoFunction"), InvocationType: types.InvocationTypeEvent, Payload: ok}); err != nil || out.StatusCode != 202 {
		t.Errorf("a %d-byte asynchronous payload: %v", len(ok), err)
	}
	var badContent *types.InvalidRequestContentException
	if _, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("EchoFunction"), Payload: []byte(`{not json`)}); !errors.As(err, &badContent) {
		t.Errorf("a payload that is not JSON: %v", err)
	}
}

// hold is an event for the echo function's hold mode: it says it started,
// then waits until dir/release exists.
func hold(dir, name string) []byte {
	return []byte(fmt.Sprintf(`{"do":"hold","dir":%q,"name":%q}`, dir, name))
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never appeared", path)
		}
	}
}

func TestLambda_SynchronousCallsAreThrottledAtTheReservedConcurrency(t *testing.T) {
	l := startLambda(t, FunctionSpec{Name: "EchoFunction", Path: echoBootstrap(t), Timeout: 60 * time.Second, ReservedConcurrency: 1})
	c := sdkClient(t, l)
	dir := t.TempDir()
	held := make(chan error, 1)
	go func() {
		_, err := l.Invoke(context.Background(), "EchoFunction", hold(dir, "a"))
		held <- err
	}()
	waitFile(t, filepath.Join(dir, "a.started"))

	var throttled *types.TooManyRequestsException
	_, err := c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("EchoFunction"), Payload: []byte(`{"do":"echo"}`)})
	if !errors.As(err, &throttled) || throttled.Reason != types.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded {
		t.Errorf("a second call at reserved concurrency 1: %v, want TooManyRequestsException", err)
	}
	if _, err := l.Invoke(context.Background(), "EchoFunction", []byte(`{"do":"echo"}`)); !errors.Is(err, runtimeapi.ErrThrottled) {
		t.Errorf("Invoke: %v, want ErrThrottled", err)
	}
	// An event is not throttled: it waits for the container.
	if _, err := l.InvokeAsync("EchoFunction", []byte(`{"do":"echo"}`)); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "release"), nil, 0o644)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := l.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if s := l.Stats("EchoFunction"); s.Throttles != 2 || s.Attempts != 1 || s.Failures != 0 || s.Containers != 1 {
		t.Errorf("stats: %+v", s)
	}
}

func readDeadLetters(t *testing.T, dir string) []destinationRecord {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	var recs []destinationRecord
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var r destinationRecord
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		recs = append(recs, r)
	}
	return recs
}

func waitDrained(t *testing.T, l *Lambda) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if err := l.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestLambda_FailedEventsAreRetriedThenDeadLettered(t *testing.T) {
	bin := echoBootstrap(t)
	dlq := t.TempDir()
	l := startLambda(t,
		FunctionSpec{Name: "Errors", Path: bin, Timeout: 30 * time.Second, DeadLetterDir: dlq},
		FunctionSpec{Name: "Crashes", Path: bin, Timeout: 30 * time.Second, DeadLetterDir: dlq, MaxRetryAttempts: intp(1)},
		FunctionSpec{Name: "OutOfMemory", Path: bin, Timeout: 30 * time.Second, MemoryMB: 128, DeadLetterDir: dlq, MaxRetryAttempts: intp(0)},
		FunctionSpec{Name: "TimesOut", Path: bin, Timeout: 500 * time.Millisecond, DeadLetterDir: dlq, MaxRetryAttempts: intp(0)},
	)
	event := `{"do":"error","echo":"%s"}`
	idErr, _ := l.InvokeAsync("Errors", []byte(fmt.Sprintf(event, "e")))
	idCrash, _ := l.InvokeAsync("Crashes", []byte(`{"do":"exit"}`))
	idOOM, _ := l.InvokeAsync("OutOfMemory", []byte(`{"do":"alloc","mb":200}`))
	idSleep, _ := l.InvokeAsync("TimesOut", []byte(`{"do":"sleep"}`))
	waitDrained(t, l)

	want := map[string]struct {
		fn        string
		attempts  int
		errorType string
	}{
		idErr:   {"Errors", 3, "errorString"},
		idCrash: {"Crashes", 2, "Runtime.ExitError"},
		idOOM:   {"OutOfMemory", 1, "Runtime.OutOfMemory"},
		idSleep: {"TimesOut", 1, "Sandbox.Timedout"},
	}
	recs := readDeadLetters(t, dlq)
	if len(recs) != len(want) {
		t.Fatalf("%d dead letters, want %d", len(recs), len(want))
	}
	for _, r := range recs {
		w, ok := want[r.RequestContext.RequestID]
		if !ok {
			t.Errorf("a dead letter for request %s, which was not sent", r.RequestContext.RequestID)
			continue
		}
		var resp runtimeapi.FunctionError
		b, _ := json.Marshal(r.ResponsePayload)
		json.Unmarshal(b, &resp)
		if r.RequestContext.Condition != "RetriesExhausted" || r.RequestContext.ApproximateInvokeCount != w.attempts ||
			r.RequestContext.FunctionARN != functionARN(w.fn)+":$LATEST" || r.ResponseContext == nil ||
			r.ResponseContext.FunctionError != "Unhandled" || resp.Type != w.errorType || r.Version != "1.0" {
			t.Errorf("%s's dead letter: %+v %+v, response %s", w.fn, r.RequestContext, r.ResponseContext, b)
		}
		s := l.Stats(w.fn)
		if s.Attempts != w.attempts || s.Failures != w.attempts || s.DeadLettered != 1 || s.Pending != 0 {
			t.Errorf("%s's stats: %+v", w.fn, s)
		}
		// Every attempt of an event keeps its request id, as on Lambda.
		for i, rep := range s.Reports {
			if rep.RequestID != r.RequestContext.RequestID || rep.Attempt != i+1 || rep.ErrorType != w.errorType || !rep.Async {
				t.Errorf("%s's report %d: %+v", w.fn, i, rep)
			}
		}
	}
	for _, r := range recs {
		if r.RequestContext.RequestID == idErr && string(r.RequestPayload) != fmt.Sprintf(event, "e") {
			t.Errorf("the dead letter's request payload %s", r.RequestPayload)
		}
	}
}

func TestLambda_AnEventSucceedsOnRetry(t *testing.T) {
	dlq := t.TempDir()
	l := startLambda(t, FunctionSpec{Name: "Flaky", Path: echoBootstrap(t), Timeout: 30 * time.Second, DeadLetterDir: dlq})
	if _, err := l.InvokeAsync("Flaky", []byte(fmt.Sprintf(`{"do":"failfirst","dir":%q}`, t.TempDir()))); err != nil {
		t.Fatal(err)
	}
	waitDrained(t, l)
	if s := l.Stats("Flaky"); s.Attempts != 2 || s.Failures != 1 || s.DeadLettered != 0 {
		t.Errorf("stats: %+v", s)
	}
	if recs := readDeadLetters(t, dlq); len(recs) != 0 {
		t.Errorf("%d dead letters for an event that succeeded on retry", len(recs))
	}
}

// TestLambda_AnEventTooOldIsDroppedToTheDestination: an event that waited
// for a container past its maximum age is not run.
func TestLambda_AnEventTooOldIsDroppedToTheDestination(t *testing.T) {
	dlq, dir := t.TempDir(), t.TempDir()
	l := startLambda(t, FunctionSpec{Name: "Busy", Path: echoBootstrap(t), Timeout: 60 * time.Second,
		ReservedConcurrency: 1, MaxEventAge: 300 * time.Millisecond, DeadLetterDir: dlq})
	held := make(chan error, 1)
	go func() {
		_, err := l.Invoke(context.Background(), "Busy", hold(dir, "a"))
		held <- err
	}()
	waitFile(t, filepath.Join(dir, "a.started"))
	id, err := l.InvokeAsync("Busy", []byte(`{"do":"echo"}`))
	if err != nil {
		t.Fatal(err)
	}
	waitDrained(t, l) // the container is held until the event has aged out
	os.WriteFile(filepath.Join(dir, "release"), nil, 0o644)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	recs := readDeadLetters(t, dlq)
	if len(recs) != 1 || recs[0].RequestContext.RequestID != id || recs[0].RequestContext.Condition != "EventAgeExceeded" ||
		recs[0].RequestContext.ApproximateInvokeCount != 0 || recs[0].ResponseContext != nil {
		t.Fatalf("dead letters %+v", recs)
	}
	if s := l.Stats("Busy"); s.Attempts != 0 || s.DeadLettered != 1 {
		t.Errorf("stats: %+v", s)
	}
}

func TestLambda_ReportsNameTheS3ObjectsOfAnEvent(t *testing.T) {
	l := startLambda(t, FunctionSpec{Name: "EchoFunction", Path: echoBootstrap(t), Timeout: 30 * time.Second, MemoryMB: 256})
	ev := `{"Records":[{"eventSource":"aws:s3","s3":{"bucket":{"name":"docs"},"object":{"key":"uploads%2Fabc","urlDecodedKey":"uploads/abc"}}}]}`
	res, err := l.Invoke(context.Background(), "EchoFunction", []byte(ev))
	if err != nil {
		t.Fatal(err)
	}
	s := l.Stats("EchoFunction")
	if len(s.Reports) != 1 {
		t.Fatalf("reports %+v", s.Reports)
	}
	r := s.Reports[0]
	if r.Event != "docs/uploads/abc" || r.RequestID != res.RequestID || !r.ColdStart || r.MaxMemoryUsedMB <= 0 || r.Async {
		t.Errorf("report %+v", r)
	}
}

func TestLambda_UnknownFunctionsAndClosedService(t *testing.T) {
	l := startLambda(t, FunctionSpec{Name: "EchoFunction", Path: echoBootstrap(t)})
	if _, err := l.InvokeAsync("Nope", []byte(`{}`)); !errors.Is(err, ErrNotFound) {
		t.Errorf("InvokeAsync of an unknown function: %v", err)
	}
	if _, err := l.Invoke(context.Background(), "Nope", []byte(`{}`)); !errors.Is(err, ErrNotFound) {
		t.Errorf("Invoke of an unknown function: %v", err)
	}
	if _, err := StartLambda([]FunctionSpec{{Name: "A", Path: "x"}, {Name: "A", Path: "y"}}, LambdaOptions{}); err == nil {
		t.Error("two functions of one name were accepted")
	}
}

// TestLambda_AGivenUpEventIsCountedOnceItsRecordIsSent: whoever sees
// DeadLettered go up (e2e/redrive polls it, then reads the queue) finds the
// record already in the destination.
func TestLambda_AGivenUpEventIsCountedOnceItsRecordIsSent(t *testing.T) {
	sending, release := make(chan struct{}), make(chan struct{})
	var sent [][]byte
	l := startLambda(t, FunctionSpec{Name: "Errors", Path: echoBootstrap(t), Timeout: 30 * time.Second, MaxRetryAttempts: intp(0),
		DeadLetter: func(rec []byte) error {
			close(sending)
			<-release
			sent = append(sent, rec)
			return nil
		}})
	if _, err := l.InvokeAsync("Errors", []byte(`{"do":"error","echo":"x"}`)); err != nil {
		t.Fatal(err)
	}
	<-sending
	if s := l.Stats("Errors"); s.DeadLettered != 0 {
		t.Errorf("counted %d given up before its record was sent", s.DeadLettered)
	}
	close(release)
	waitDrained(t, l)
	if s := l.Stats("Errors"); s.DeadLettered != 1 || len(sent) != 1 {
		t.Errorf("stats %+v, %d records sent", s, len(sent))
	}
}
