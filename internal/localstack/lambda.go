package localstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/s3ocr/s3ocr/internal/runtimeapi"
)

// Lambda's payload limits for Invoke
// (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html): 6 MB
// for a synchronous request, 1 MB for an asynchronous one (256 KB until
// October 2025).
const (
	MaxSyncPayload  = 6 << 20
	MaxAsyncPayload = 1 << 20
)

// Lambda's defaults for a function's EventInvokeConfig.
const (
	defaultMaxRetryAttempts = 2
	defaultMaxEventAge      = 6 * time.Hour
)

// maxReports bounds the per-invocation reports kept for Stats; a load test
// runs thousands of invocations.
const maxReports = 1000

// FunctionSpec is one function as the local Lambda service runs it.
type FunctionSpec struct {
	Name     string            // logical id, e.g. "ProcessFunction": the name it is invoked by
	Path     string            // the built bootstrap
	Env      map[string]string // the function's environment, merged by the caller (Globals, parameters, local endpoints)
	MemoryMB int               // MemorySize; default 128
	Timeout  time.Duration     // Timeout; default 3s
	// ReservedConcurrency is ReservedConcurrentExecutions: the most
	// containers, and so invocations at once. 0 is unreserved, capped
	// locally at twice the CPUs (an account's 1,000 would only thrash
	// this machine).
	ReservedConcurrency int
	MaxRetryAttempts    *int          // EventInvokeConfig MaximumRetryAttempts; nil is Lambda's 2
	MaxEventAge         time.Duration // EventInvokeConfig MaximumEventAgeInSeconds; 0 is Lambda's 6 h
	// DeadLetterDir is the on-failure destination: each asynchronous event
	// given up on is written there as one JSON file shaped as Lambda's
	// destination record. "" keeps none.
	DeadLetterDir string
	// DeadLetter, when set, is the on-failure destination instead: each
	// record is sent there (a queue of the local SQS service).
	DeadLetter func(record []byte) error
	Log        io.Writer // the function's log: its stdout, stderr and Lambda's START/END/REPORT lines; default discarded
}

// LambdaOptions configures the local Lambda service.
type LambdaOptions struct {
	Addr     string       // listen address; default 127.0.0.1 on a free port
	Listener net.Listener // listen here instead of Addr (opened early, so its address can be in the functions' environment)
	// Backoff is the delay before each retry of a failed asynchronous
	// event, the last repeated; default 1 and then 2 minutes, as AWS waits.
	// It must outlast the process function's claim lease (30 s): a retry
	// that comes sooner finds a dead attempt's claim still live, waits on
	// it, and no attempt is left to take it over. Tests scale both down.
	Backoff []time.Duration
	Log     *slog.Logger // the service's own log; default discarded
}

// Lambda is a local Lambda service: the Invoke API of
// https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html at Endpoint
// (for AWS_ENDPOINT_URL_LAMBDA and the SDK's lambda client), and Go methods
// for the local stack's own event sources. Each function runs as its built
// bootstrap under the Runtime API harness, in a runtimeapi.Pool of up to its
// reserved concurrency in containers.
//
// Asynchronous events follow Lambda's rules: accepted at once; each
// attempt has the function's timeout; a failed attempt (function error,
// crash, timeout, out of memory) is retried after the backoff up to
// MaxRetryAttempts times; an event older than MaxEventAge is not tried
// again; either way it then goes to the dead-letter directory. When every
// container is busy an event waits in the queue, which is not a failed
// attempt.
type Lambda struct {
	Endpoint string // http://127.0.0.1:PORT

	backoff []time.Duration
	log     *slog.Logger
	funcs   map[string]*lambdaFunction
	srv     *http.Server
	ctx     context.Context // ends at Close, killing running invocations
	cancel  context.CancelFunc

	mu      sync.Mutex
	pending int           // asynchronous events queued or running
	drained chan struct{} // closed when pending drops to 0
}

type lambdaFunction struct {
	spec FunctionSpec
	arn  string
	pool *runtimeapi.Pool

	mu    sync.Mutex
	stats Stats
	held  chan struct{} // closed when Hold's release is called; nil when not held
}

// Stats counts what one function did.
type Stats struct {
	Invocations  int      // invocations run: synchronous calls and asynchronous attempts
	Errors       int      // invocations that failed: function error, crash, timeout, out of memory
	Throttles    int      // synchronous calls refused because every container was busy
	Attempts     int      // asynchronous attempts
	Failures     int      // asynchronous attempts that failed
	DeadLettered int      // asynchronous events given up on, once sent to the destination
	Pending      int      // asynchronous events queued or running
	Containers   int      // containers now warm or busy
	Reports      []Report // the latest invocations' reports, oldest first (at most 1,000)
}

// Report is one invocation, as Lambda's REPORT line and its log describe it.
type Report struct {
	RequestID       string
	Async           bool
	Attempt         int    // 1 for the first attempt of an asynchronous event
	Event           string // the S3 objects of an S3 event (bucket/key, comma-separated), else the payload's first 200 bytes
	ColdStart       bool
	InitDuration    time.Duration
	Duration        time.Duration
	MaxMemoryUsedMB int
	ErrorType       string // "" when it succeeded
}

// StartLambda starts the service for specs. Names must be unique.
func StartLambda(specs []FunctionSpec, opts LambdaOptions) (*Lambda, error) {
	l := &Lambda{backoff: opts.Backoff, log: opts.Log, funcs: map[string]*lambdaFunction{}}
	if len(l.backoff) == 0 {
		l.backoff = []time.Duration{time.Minute, 2 * time.Minute}
	}
	if l.log == nil {
		l.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for _, s := range specs {
		if s.Name == "" || s.Path == "" {
			return nil, fmt.Errorf("lambda: function %q needs a name and a bootstrap", s.Name)
		}
		if _, dup := l.funcs[s.Name]; dup {
			return nil, fmt.Errorf("lambda: function %q given twice", s.Name)
		}
		l.funcs[s.Name] = newLambdaFunction(s)
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := opts.Listener, error(nil)
	if ln == nil {
		ln, err = net.Listen("tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("lambda: %w", err)
	}
	l.Endpoint = "http://" + ln.Addr().String()
	l.ctx, l.cancel = context.WithCancel(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", l.serveInvoke)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		lambdaError(w, http.StatusNotFound, "UnknownOperationException", "", "this local Lambda serves only Invoke")
	})
	l.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go l.srv.Serve(ln)
	return l, nil
}

// unreservedConcurrency caps the containers of a function without reserved
// concurrency. Lambda scales such a function to the account's limit (1,000
// by default), starting a container for each request that finds none free;
// locally each container is a process, so the cap is what one machine runs
// (an upload or status container is a ~15 MB Go process), and it is well
// above what the tests' 16 concurrent clients ask of the API.
const unreservedConcurrency = 64

func newLambdaFunction(s FunctionSpec) *lambdaFunction {
	if s.ReservedConcurrency <= 0 {
		s.ReservedConcurrency = unreservedConcurrency
	}
	if s.MaxRetryAttempts == nil {
		n := defaultMaxRetryAttempts
		s.MaxRetryAttempts = &n
	}
	if s.MaxEventAge <= 0 {
		s.MaxEventAge = defaultMaxEventAge
	}
	if s.Log == nil {
		s.Log = io.Discard
	}
	// The containers share one log, line by line, as CloudWatch shows a
	// function's log streams together.
	logMu := &sync.Mutex{}
	fn := &lambdaFunction{spec: s, arn: functionARN(s.Name)}
	fn.pool = &runtimeapi.Pool{Size: s.ReservedConcurrency, New: func() *runtimeapi.Function {
		// One writer for stdout and stderr: the process gets one pipe for
		// both, so its lines keep their order.
		log := &lineWriter{mu: logMu, w: s.Log}
		return &runtimeapi.Function{
			Path: s.Path, Env: s.Env, Name: s.Name, MemoryMB: s.MemoryMB, Timeout: s.Timeout,
			Stdout: log, Stderr: log,
		}
	}}
	return fn
}

// functionARN is the ARN the Runtime API harness gives a function
// (Lambda-Runtime-Invoked-Function-Arn).
func functionARN(name string) string {
	return "arn:aws:lambda:us-east-1:000000000000:function:" + name
}

// Invoke runs one event synchronously (RequestResponse). It returns
// runtimeapi.ErrThrottled when every container is busy and ErrNotFound for
// an unknown function; a function's own failure is in the Result.
func (l *Lambda) Invoke(ctx context.Context, name string, payload []byte) (runtimeapi.Result, error) {
	fn, _, err := l.function(name)
	if err != nil {
		return runtimeapi.Result{}, err
	}
	res, err := fn.pool.Invoke(ctx, runtimeapi.Request{Payload: payload})
	if errors.Is(err, runtimeapi.ErrThrottled) {
		fn.mu.Lock()
		fn.stats.Throttles++
		fn.mu.Unlock()
	}
	if err == nil {
		fn.record(res, payload, false, 0)
	}
	return res, err
}

// ErrNotFound is returned for a function the service does not have.
var ErrNotFound = errors.New("lambda: function not found")

// InvokeAsync queues one event (InvocationType Event) and returns its
// request id at once; the event runs when a container is free.
func (l *Lambda) InvokeAsync(name string, payload []byte) (requestID string, err error) {
	fn, _, err := l.function(name)
	if err != nil {
		return "", err
	}
	return l.enqueue(fn, payload), nil
}

func (l *Lambda) enqueue(fn *lambdaFunction, payload []byte) string {
	ev := &asyncEvent{id: runtimeapi.NewRequestID(), payload: payload, accepted: time.Now()}
	l.mu.Lock()
	if l.pending == 0 {
		l.drained = make(chan struct{})
	}
	l.pending++
	l.mu.Unlock()
	fn.mu.Lock()
	fn.stats.Pending++
	fn.mu.Unlock()
	go l.runAsync(fn, ev)
	return ev.id
}

// Wait blocks until no asynchronous event is queued or running (each has
// succeeded or been dead-lettered), or ctx ends.
func (l *Lambda) Wait(ctx context.Context) error {
	l.mu.Lock()
	n, ch := l.pending, l.drained
	l.mu.Unlock()
	if n == 0 {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		n = l.pending
		l.mu.Unlock()
		return fmt.Errorf("%d asynchronous events still queued or running: %w", n, ctx.Err())
	}
}

// Stats returns what the function name did so far (zero for an unknown one).
func (l *Lambda) Stats(name string) Stats {
	fn, _, err := l.function(name)
	if err != nil {
		return Stats{}
	}
	fn.mu.Lock()
	defer fn.mu.Unlock()
	s := fn.stats
	s.Reports = append([]Report(nil), s.Reports...)
	s.Containers = fn.pool.Containers()
	return s
}

// KillBusy ends, with SIGKILL to its whole process group, every container
// of the function that is running an invocation now, as a machine failure
// or the kernel's OOM killer would: the invocation ends without a word and,
// for an asynchronous event, is retried. It returns how many it killed.
func (l *Lambda) KillBusy(name string) (int, error) {
	fn, _, err := l.function(name)
	if err != nil {
		return 0, err
	}
	pids := fn.pool.Busy()
	for _, pid := range pids {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	return len(pids), nil
}

// Hold stops the function's queued asynchronous events from starting until
// release is called, as a backlog behind busy containers does: they stay
// queued and age. Running invocations and synchronous calls go on. Tests use
// it to look at a backlog without racing it.
func (l *Lambda) Hold(name string) (release func(), err error) {
	fn, _, err := l.function(name)
	if err != nil {
		return nil, err
	}
	fn.mu.Lock()
	defer fn.mu.Unlock()
	if fn.held != nil {
		return nil, fmt.Errorf("lambda: function %q is already held", name)
	}
	ch := make(chan struct{})
	fn.held = ch
	return sync.OnceFunc(func() {
		fn.mu.Lock()
		fn.held = nil
		fn.mu.Unlock()
		close(ch)
	}), nil
}

// acquire waits until the function is not held, then for a free container.
func (fn *lambdaFunction) acquire(ctx context.Context) (*runtimeapi.Function, error) {
	fn.mu.Lock()
	held := fn.held
	fn.mu.Unlock()
	if held != nil {
		select {
		case <-held:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return fn.pool.Acquire(ctx)
}

// Close stops the service, kills running invocations and drops queued
// events.
func (l *Lambda) Close() error {
	l.cancel()
	err := l.srv.Close()
	for _, fn := range l.funcs {
		err = errors.Join(err, fn.pool.Close())
	}
	return err
}

type asyncEvent struct {
	id       string
	payload  []byte
	accepted time.Time
	attempts int
	last     runtimeapi.Result // the last attempt's result
}

func (l *Lambda) runAsync(fn *lambdaFunction, ev *asyncEvent) {
	defer func() {
		fn.mu.Lock()
		fn.stats.Pending--
		fn.mu.Unlock()
		l.mu.Lock()
		if l.pending--; l.pending == 0 {
			close(l.drained)
		}
		l.mu.Unlock()
	}()
	for {
		// The event waits for a container until it is too old; a
		// container's being busy is not a failed attempt.
		wait, cancel := context.WithDeadline(l.ctx, ev.accepted.Add(fn.spec.MaxEventAge))
		c, err := fn.acquire(wait)
		cancel()
		if err != nil {
			if l.ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				l.deadLetter(fn, ev, "EventAgeExceeded")
			}
			return
		}
		// The attempt itself runs to its timeout even if the event ages
		// meanwhile, as on Lambda.
		res, err := c.InvokeRequest(l.ctx, runtimeapi.Request{ID: ev.id, Payload: ev.payload})
		fn.pool.Release(c)
		if l.ctx.Err() != nil {
			return
		}
		if err != nil { // the harness could not run it: a failed attempt all the same
			res.Error = &runtimeapi.FunctionError{Type: "ServiceException", Message: err.Error()}
		}
		ev.attempts++
		ev.last = res
		fn.record(res, ev.payload, true, ev.attempts)
		if res.Error == nil {
			return
		}
		l.log.Warn("asynchronous invocation failed", "function", fn.spec.Name, "requestId", ev.id,
			"attempt", ev.attempts, "errorType", res.Error.Type, "error", res.Error.Message)
		if ev.attempts > *fn.spec.MaxRetryAttempts {
			l.deadLetter(fn, ev, "RetriesExhausted")
			return
		}
		backoff := l.backoff[min(ev.attempts, len(l.backoff))-1]
		if time.Since(ev.accepted)+backoff > fn.spec.MaxEventAge {
			l.deadLetter(fn, ev, "EventAgeExceeded")
			return
		}
		select {
		case <-time.After(backoff):
		case <-l.ctx.Done():
			return
		}
	}
}

// record counts one invocation and keeps its report.
func (fn *lambdaFunction) record(res runtimeapi.Result, payload []byte, async bool, attempt int) {
	r := Report{RequestID: res.RequestID, Async: async, Attempt: attempt, Event: describeEvent(payload),
		ColdStart: res.ColdStart, InitDuration: res.InitDuration, Duration: res.Duration, MaxMemoryUsedMB: res.MaxMemoryUsedMB}
	if res.Error != nil {
		r.ErrorType = res.Error.Type
	}
	fn.mu.Lock()
	defer fn.mu.Unlock()
	s := &fn.stats
	s.Invocations++
	if async {
		s.Attempts++
	}
	if res.Error != nil {
		s.Errors++
		if async {
			s.Failures++
		}
	}
	if len(s.Reports) == maxReports {
		s.Reports = append(s.Reports[:0], s.Reports[1:]...)
	}
	s.Reports = append(s.Reports, r)
}

// describeEvent names an S3 event's objects, or excerpts another payload.
func describeEvent(payload []byte) string {
	var ev events.S3Event
	if json.Unmarshal(payload, &ev) == nil && len(ev.Records) > 0 && ev.Records[0].S3.Object.Key != "" {
		keys := make([]string, 0, len(ev.Records))
		for _, r := range ev.Records {
			key := r.S3.Object.URLDecodedKey
			if key == "" {
				key = r.S3.Object.Key
			}
			keys = append(keys, r.S3.Bucket.Name+"/"+key)
		}
		return strings.Join(keys, ", ")
	}
	if len(payload) > 200 {
		return string(payload[:200]) + "…"
	}
	return string(payload)
}

// destinationRecord is the document Lambda sends to an on-failure
// destination
// (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).
type destinationRecord struct {
	Version        string             `json:"version"`
	Timestamp      string             `json:"timestamp"`
	RequestContext destinationContext `json:"requestContext"`
	// RequestPayload is the event; invalid JSON never gets this far.
	RequestPayload  json.RawMessage      `json:"requestPayload"`
	ResponseContext *destinationResponse `json:"responseContext,omitempty"`
	ResponsePayload any                  `json:"responsePayload,omitempty"`
}

type destinationContext struct {
	RequestID              string `json:"requestId"`
	FunctionARN            string `json:"functionArn"`
	Condition              string `json:"condition"` // RetriesExhausted or EventAgeExceeded
	ApproximateInvokeCount int    `json:"approximateInvokeCount"`
}

type destinationResponse struct {
	StatusCode      int    `json:"statusCode"`
	ExecutedVersion string `json:"executedVersion"`
	FunctionError   string `json:"functionError,omitempty"`
}

func (l *Lambda) deadLetter(fn *lambdaFunction, ev *asyncEvent, condition string) {
	// Counted once the record is in its destination, so that whoever sees
	// the count (a test polling Stats) finds the record there too.
	defer func() {
		fn.mu.Lock()
		fn.stats.DeadLettered++
		fn.mu.Unlock()
	}()
	l.log.Error("asynchronous event given up on", "function", fn.spec.Name, "requestId", ev.id,
		"condition", condition, "attempts", ev.attempts, "destination", fn.spec.DeadLetterDir)
	if fn.spec.DeadLetterDir == "" && fn.spec.DeadLetter == nil {
		return
	}
	rec := destinationRecord{
		Version:   "1.0",
		Timestamp: time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		RequestContext: destinationContext{RequestID: ev.id, FunctionARN: fn.arn + ":$LATEST",
			Condition: condition, ApproximateInvokeCount: ev.attempts},
		RequestPayload: json.RawMessage(ev.payload),
	}
	if !json.Valid(ev.payload) {
		rec.RequestPayload, _ = json.Marshal(string(ev.payload))
	}
	if ev.attempts > 0 {
		rec.ResponseContext = &destinationResponse{StatusCode: http.StatusOK, ExecutedVersion: "$LATEST"}
		if e := ev.last.Error; e != nil {
			rec.ResponseContext.FunctionError = "Unhandled"
			rec.ResponsePayload = e
		} else {
			rec.ResponsePayload = json.RawMessage(ev.last.Payload)
		}
	}
	b, _ := json.Marshal(rec) // compact, as Lambda sends it to SQS
	if fn.spec.DeadLetter != nil {
		if err := fn.spec.DeadLetter(b); err != nil {
			l.log.Error("dead-letter send", "err", err)
		}
		return
	}
	if err := os.MkdirAll(fn.spec.DeadLetterDir, 0o755); err != nil {
		l.log.Error("dead-letter directory", "err", err)
		return
	}
	name := filepath.Join(fn.spec.DeadLetterDir, fmt.Sprintf("%d-%s.json", time.Now().UnixNano(), ev.id))
	if err := os.WriteFile(name, b, 0o644); err != nil {
		l.log.Error("dead-letter write", "err", err)
	}
}

// function finds a function by the names Invoke accepts: its name, its
// ARN or a partial ARN (123456789012:function:name), each optionally with
// the qualifier $LATEST, the only version here. Any region and account are
// accepted: the harness's ARNs say us-east-1 whatever AWS_REGION is.
func (l *Lambda) function(ref string) (*lambdaFunction, string, error) {
	name, qualifier := ref, ""
	parts := strings.Split(ref, ":")
	switch {
	case len(parts) >= 7 && parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function":
		name = parts[6]
		if len(parts) == 8 {
			qualifier = parts[7]
		} else if len(parts) > 8 {
			name = ref
		}
	case len(parts) >= 3 && parts[1] == "function":
		name = parts[2]
		if len(parts) == 4 {
			qualifier = parts[3]
		} else if len(parts) > 4 {
			name = ref
		}
	case len(parts) == 2:
		name, qualifier = parts[0], parts[1]
	}
	fn := l.funcs[name]
	if fn == nil || qualifier != "" && qualifier != "$LATEST" {
		return nil, qualifier, fmt.Errorf("%w: %s", ErrNotFound, functionARN(name)+qualifierSuffix(qualifier))
	}
	return fn, qualifier, nil
}

func qualifierSuffix(q string) string {
	if q == "" {
		return ""
	}
	return ":" + q
}

// serveInvoke answers Invoke as Lambda does.
func (l *Lambda) serveInvoke(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("name")
	fn, derived, err := l.function(ref)
	q := r.URL.Query().Get("Qualifier")
	if err == nil && q != "" && derived != "" && q != derived {
		lambdaError(w, http.StatusBadRequest, "InvalidParameterValueException", "", "The derived qualifier from the function name does not match the specified qualifier.")
		return
	}
	if err == nil && q != "" && q != "$LATEST" {
		err = fmt.Errorf("%w: %s:%s", ErrNotFound, fn.arn, q)
	}
	if err != nil {
		lambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "", "Function not found: "+strings.TrimPrefix(err.Error(), ErrNotFound.Error()+": "))
		return
	}
	typ := r.Header.Get("X-Amz-Invocation-Type")
	if typ == "" {
		typ = "RequestResponse"
	}
	limit := MaxSyncPayload
	switch typ {
	case "RequestResponse", "DryRun":
	case "Event":
		limit = MaxAsyncPayload
	default:
		lambdaError(w, http.StatusBadRequest, "InvalidParameterValueException", "", "1 validation error detected: Value '"+typ+"' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]")
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		lambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", "", "could not read the request body: "+err.Error())
		return
	}
	if len(payload) > limit {
		lambdaError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException", "",
			fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", limit))
		return
	}
	if len(payload) == 0 {
		payload = []byte("{}") // what Lambda hands a function invoked without a payload
	}
	if !json.Valid(payload) {
		lambdaError(w, http.StatusBadRequest, "InvalidRequestContentException", "", "Could not parse request body into json: Could not parse payload into json")
		return
	}
	switch typ {
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return
	case "Event":
		id := l.enqueue(fn, payload)
		w.Header().Set("X-Amzn-Requestid", id)
		w.WriteHeader(http.StatusAccepted)
		return
	}
	// Lambda runs the invocation to its end even if the caller hangs up.
	res, err := l.Invoke(context.WithoutCancel(r.Context()), fn.spec.Name, payload)
	switch {
	case errors.Is(err, runtimeapi.ErrThrottled):
		w.Header().Set("Retry-After", "1")
		lambdaError(w, http.StatusTooManyRequests, "TooManyRequestsException", "ReservedFunctionConcurrentInvocationLimitExceeded", "Rate Exceeded.")
		return
	case err != nil:
		lambdaError(w, http.StatusInternalServerError, "ServiceException", "", err.Error())
		return
	}
	h := w.Header()
	h.Set("X-Amzn-Requestid", res.RequestID)
	h.Set("X-Amz-Executed-Version", "$LATEST")
	h.Set("Content-Type", "application/json")
	body := res.Payload
	if res.Error != nil {
		h.Set("X-Amz-Function-Error", "Unhandled")
		body, _ = json.Marshal(res.Error)
	}
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// lambdaError writes an error in Lambda's REST-JSON shape: the type in
// X-Amzn-ErrorType, the message under "message", "Type" User for the
// caller's errors and Service for Lambda's own.
func lambdaError(w http.ResponseWriter, status int, typ, reason, msg string) {
	body := map[string]string{"Type": "User", "message": msg}
	if status >= 500 {
		body["Type"] = "Service"
	}
	if reason != "" {
		body["Reason"] = reason
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", typ)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// lineWriter passes whole lines to w under mu, so that the containers of
// one function, writing at once, do not cut into each other's lines. A
// last line without a newline is held until one comes.
type lineWriter struct {
	mu  *sync.Mutex
	w   io.Writer
	buf []byte
}

func (lw *lineWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.buf = append(lw.buf, p...)
	if i := bytes.LastIndexByte(lw.buf, '\n'); i >= 0 {
		_, err := lw.w.Write(lw.buf[:i+1])
		lw.buf = append(lw.buf[:0], lw.buf[i+1:]...)
		if err != nil {
			return len(p), err
		}
	}
	return len(p), nil
}
