// Package runtimeapi runs a built Lambda bootstrap on this machine the way
// Lambda (and `sam local invoke`) runs it: as a child process that fetches
// events from the Lambda Runtime API and posts back responses or errors.
//
// It implements the documented API
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):
// GET /2018-06-01/runtime/invocation/next with the Lambda-Runtime-* headers
// and the deadline, POST …/invocation/{id}/response and …/error, and POST
// …/runtime/init/error. It is written here because the Runtime Interface
// Emulator's Go module is not served by the module proxy this project
// builds from, and because tests need what the emulator does not offer: a
// chroot for the process, the init duration of each cold start, and the
// process's logs.
//
// Like Lambda, a Function handles one event at a time, kills the process at
// the deadline or when its process group uses more than its memory size, and
// starts a new process (a cold start) for the next event after a timeout, a
// crash, running out of memory or an init error. It writes Lambda's START,
// END and REPORT lines to the function's log. A Pool holds several warm
// Functions of one function, as Lambda holds up to its reserved concurrency
// in execution environments.
package runtimeapi

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// MaxResponseBytes is Lambda's limit on a synchronous response.
const MaxResponseBytes = 6 << 20

const prefix = "/2018-06-01/runtime"

// Function is a bootstrap run under the Runtime API. Set the fields, then
// call Invoke; Close stops the process and the API server.
type Function struct {
	Path     string            // the bootstrap; a path inside Chroot when Chroot is set
	Chroot   string            // root directory for the process ("" = none; needs root)
	Dir      string            // working directory; default /var/task in a chroot, else Path's directory
	Env      map[string]string // the function's own environment, over Lambda's
	Name     string            // function name; default "function"
	MemoryMB int               // AWS_LAMBDA_FUNCTION_MEMORY_SIZE and the memory limit; default 128
	Timeout  time.Duration     // per invocation; default 3s, as Lambda's
	// Stdout gets the process's stdout and the harness's START, END and
	// REPORT lines, as Lambda puts both in the function's log stream, in
	// the order they were written. Default discarded. An *os.File is
	// given to the process as is; writes to any other writer (and to
	// Stderr) are serialised, so it need not be safe for concurrent use.
	Stdout io.Writer
	Stderr io.Writer // the process's stderr; default discarded

	invokeMu sync.Mutex // one invocation at a time, as in a Lambda execution environment

	logMu          sync.Mutex // serialises writes to stdout and stderr
	stdout, stderr io.Writer  // Stdout and Stderr as written, set by serve

	mu      sync.Mutex
	ln      net.Listener
	srv     *http.Server
	proc    *process
	next    chan *invocation
	pending map[string]*invocation

	// Test hooks: hookStarted runs right after the process has started,
	// hookNext when the API has noted a /next request.
	hookStarted func()
	hookNext    func()
	memInterval time.Duration // default memSampleInterval
}

// Request is one event for a function.
type Request struct {
	// ID is the request id the function sees; "" gives a new one. Lambda
	// keeps an asynchronous event's id across its retries.
	ID      string
	Payload []byte
}

// Result is what one invocation produced.
type Result struct {
	RequestID    string
	Payload      []byte         // the response, when the function succeeded
	Error        *FunctionError // the error the function (or the harness) reported
	TimedOut     bool
	OutOfMemory  bool          // killed for using more than MemoryMB (Error.Type Runtime.OutOfMemory)
	ColdStart    bool          // a new process was started for this invocation
	InitDuration time.Duration // process start to its first /next (cold starts only)
	Duration     time.Duration // event handed to the function to its answer (or its end)
	// MaxMemoryUsedMB is the process group's peak resident memory as
	// sampled during the invocation, at least the kernel's high-water mark
	// of each process (see memory.go): Lambda's "Max Memory Used".
	MaxMemoryUsedMB int
}

// Failed reports whether the invocation failed in any way: a function
// error, a crash, a timeout or running out of memory.
func (r Result) Failed() bool { return r.Error != nil }

// FunctionError is the error document of the Runtime API.
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
	// StackTrace is as the runtime sent it: strings from most runtimes,
	// objects (path, line, label) from aws-lambda-go.
	StackTrace json.RawMessage `json:"stackTrace,omitempty"`
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	handed   time.Time
	done     chan outcome // buffered: the first answer wins
}

type outcome struct {
	payload []byte
	err     *FunctionError
	at      time.Time
}

type process struct {
	cmd       *exec.Cmd
	pid       int // set under Function.mu once cmd has started
	started   time.Time
	firstNext time.Time     // set by the /next handler, under Function.mu
	exited    chan struct{} // closed when the process has exited
	initErr   chan *FunctionError
	waitErr   error
	outputs   []*outputPipe // its stdout and stderr when not files
}

// Invoke sends one event and waits for the function's answer, its error,
// the deadline, the memory limit, or the process's end. The error is for the
// harness's own failures (the process could not start, ctx ended); what the
// function did is in the Result.
func (f *Function) Invoke(ctx context.Context, payload []byte) (Result, error) {
	return f.InvokeRequest(ctx, Request{Payload: payload})
}

// InvokeRequest is Invoke with a chosen request id.
func (f *Function) InvokeRequest(ctx context.Context, req Request) (Result, error) {
	f.invokeMu.Lock()
	defer f.invokeMu.Unlock()
	if err := f.serve(); err != nil {
		return Result{}, err
	}
	var res Result
	inv := &invocation{
		id:       req.ID,
		payload:  req.Payload,
		deadline: time.Now().Add(f.timeout()),
		done:     make(chan outcome, 1),
	}
	if inv.id == "" {
		inv.id = newRequestID()
	}
	res.RequestID = inv.id
	f.mu.Lock()
	f.pending[inv.id] = inv
	p := f.proc
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.pending, inv.id)
		f.mu.Unlock()
		select { // not taken by the process: drop it from the queue
		case <-f.next:
		default:
		}
	}()
	f.next <- inv

	timer := time.NewTimer(time.Until(inv.deadline))
	defer timer.Stop()
	var mem *memWatch
	defer func() {
		if mem != nil {
			mem.stop()
		}
	}()
	for {
		if p == nil {
			var err error
			if p, err = f.start(); err != nil {
				return res, err
			}
			res.ColdStart = true
		}
		if mem == nil || mem.pid != p.pid {
			if mem != nil {
				mem.stop()
				res.MaxMemoryUsedMB = max(res.MaxMemoryUsedMB, mem.peakMB())
			}
			mem = watchMemory(p.pid, f.memoryMB(), cmp.Or(f.memInterval, memSampleInterval))
		}
		select {
		case o := <-inv.done:
			res.Payload, res.Error = o.payload, o.err
			res.Duration = o.at.Sub(inv.handedAt(f))
			// The last sample, with the kernel's high-water marks, catches
			// a peak between samples: Lambda's cgroup would have killed
			// the process for it before it answered.
			if mem.stop() {
				res.Payload, res.Error = nil, outOfMemory(inv.id)
				res.OutOfMemory = true
				f.stop(p)
			}
		case <-mem.over:
			res.Error = outOfMemory(inv.id)
			res.OutOfMemory = true
			f.stop(p)
		case e := <-p.initErr:
			res.Error = e
			f.stop(p)
		case <-p.exited:
			f.stop(p)
			select {
			case o := <-inv.done:
				// It answered, then exited (aws-lambda-go reports a panic,
				// then exits): both were ready, and select picks either.
				res.Payload, res.Error = o.payload, o.err
				res.Duration = o.at.Sub(inv.handedAt(f))
			default:
				if inv.handedAt(f).IsZero() && p.initialised(f) && !res.ColdStart {
					// A warm process ended between events, before it took
					// this one (a runtime exits after reporting an error):
					// Lambda gives the event to a new execution environment.
					p = nil
					continue
				}
				res.Error = &FunctionError{Type: "Runtime.ExitError", Message: fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %v", inv.id, p.waitErr)}
			}
		case <-timer.C:
			res.TimedOut = true
			res.Error = &FunctionError{Type: "Sandbox.Timedout", Message: fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", inv.id, f.timeout().Seconds())}
			res.Duration = f.timeout()
			f.stop(p)
		case <-ctx.Done():
			f.stop(p)
			return res, ctx.Err()
		}
		break
	}
	mem.stop()
	res.MaxMemoryUsedMB = max(res.MaxMemoryUsedMB, mem.peakMB())
	if handed := inv.handedAt(f); res.Duration == 0 && !handed.IsZero() {
		res.Duration = time.Since(handed)
	}
	if res.ColdStart {
		f.mu.Lock()
		if !p.firstNext.IsZero() {
			res.InitDuration = p.firstNext.Sub(p.started)
		}
		f.mu.Unlock()
	}
	f.report(p, res)
	return res, nil
}

func outOfMemory(id string) *FunctionError {
	return &FunctionError{Type: "Runtime.OutOfMemory", Message: fmt.Sprintf("RequestId: %s Error: Runtime exited with error: signal: killed", id)}
}

// report writes Lambda's END and REPORT lines for res. Like Lambda's, the
// billed duration rounds up to the millisecond and, for a custom runtime,
// includes the init phase; a failure the runtime did not report itself
// adds a Status.
func (f *Function) report(p *process, res Result) {
	p.flush()
	billed := math.Ceil(ms(res.Duration + res.InitDuration))
	line := fmt.Sprintf("END RequestId: %s\nREPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %.0f ms\tMemory Size: %d MB\tMax Memory Used: %d MB\t",
		res.RequestID, res.RequestID, ms(res.Duration), billed, f.memoryMB(), res.MaxMemoryUsedMB)
	if res.ColdStart {
		line += fmt.Sprintf("Init Duration: %.2f ms\t", ms(res.InitDuration))
	}
	switch {
	case res.TimedOut:
		line += "Status: timeout"
	case res.Error != nil && (res.OutOfMemory || strings.HasPrefix(res.Error.Type, "Runtime.")):
		line += "Status: error\tError Type: " + res.Error.Type
	}
	fmt.Fprintln(f.stdout, strings.TrimRight(line, "\t"))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (inv *invocation) handedAt(f *Function) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return inv.handed
}

// initialised reports whether the process got as far as asking for an
// event.
func (p *process) initialised(f *Function) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !p.firstNext.IsZero()
}

// PID is the running process's id, 0 when none runs.
func (f *Function) PID() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.proc == nil {
		return 0
	}
	return f.proc.pid
}

// Addr is the Runtime API's host:port (AWS_LAMBDA_RUNTIME_API), once an
// invocation has started the server.
func (f *Function) Addr() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ln == nil {
		return ""
	}
	return f.ln.Addr().String()
}

// Close stops the process and the API server.
func (f *Function) Close() error {
	f.mu.Lock()
	p, srv := f.proc, f.srv
	f.mu.Unlock()
	if p != nil {
		f.stop(p)
	}
	if srv != nil {
		return srv.Close()
	}
	return nil
}

func (f *Function) timeout() time.Duration {
	if f.Timeout > 0 {
		return f.Timeout
	}
	return 3 * time.Second
}

func (f *Function) memoryMB() int {
	if f.MemoryMB > 0 {
		return f.MemoryMB
	}
	return 128
}

func (f *Function) serve() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.srv != nil {
		return nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	f.ln, f.next, f.pending = ln, make(chan *invocation, 1), map[string]*invocation{}
	f.stdout, f.stderr = f.serialised(f.Stdout), f.serialised(f.Stderr)
	if sameWriter(f.Stdout, f.Stderr) {
		f.stderr = f.stdout // so that exec gives the process one pipe for both
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+"/invocation/next", f.handleNext)
	mux.HandleFunc("POST "+prefix+"/invocation/{id}/response", f.handleResponse)
	mux.HandleFunc("POST "+prefix+"/invocation/{id}/error", f.handleError)
	mux.HandleFunc("POST "+prefix+"/init/error", f.handleInitError)
	f.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go f.srv.Serve(ln)
	return nil
}

// start starts the bootstrap with the environment Lambda gives a
// provided.al2023 function.
func (f *Function) start() (*process, error) {
	name := f.Name
	if name == "" {
		name = "function"
	}
	mem := f.memoryMB()
	env := map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          f.Addr(),
		"AWS_LAMBDA_FUNCTION_NAME":        name,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(mem),
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + newRequestID()[:32],
		"AWS_EXECUTION_ENV":               "AWS_Lambda_provided.al2023",
		"AWS_REGION":                      "us-east-1",
		"AWS_DEFAULT_REGION":              "us-east-1",
		"_HANDLER":                        "bootstrap",
		"LAMBDA_TASK_ROOT":                "/var/task",
		"LAMBDA_RUNTIME_DIR":              "/var/runtime",
		"TZ":                              ":UTC",
		"LANG":                            "en_US.UTF-8",
		"PATH":                            "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
		"LD_LIBRARY_PATH":                 "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
	}
	for k, v := range f.Env {
		env[k] = v
	}
	if r, ok := f.Env["AWS_REGION"]; ok && f.Env["AWS_DEFAULT_REGION"] == "" {
		env["AWS_DEFAULT_REGION"] = r
	}
	cmd := exec.Command(f.Path)
	cmd.Env = sortedEnv(env)
	cmd.Dir = f.Dir
	if cmd.Dir == "" {
		cmd.Dir = filepath.Dir(f.Path)
		if f.Chroot != "" {
			cmd.Dir = "/var/task"
		}
	}
	pipes, ends, err := f.connectOutput(cmd)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", f.Path, err)
	}
	// Its own process group, so that a kill also ends what it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: f.Chroot, Setpgid: true}
	p := &process{cmd: cmd, exited: make(chan struct{}), initErr: make(chan *FunctionError, 1), outputs: pipes}
	// The process is registered before it exists: a child that asks for
	// /next at once must find it, or its init duration is lost (as it was
	// when this ran after cmd.Start, on a loaded machine). No other
	// process can ask meanwhile: the previous one was stopped and waited
	// for before p was made.
	f.mu.Lock()
	f.proc = p
	p.started = time.Now()
	err = cmd.Start()
	for _, end := range ends { // the process has its own copies
		end.Close()
	}
	if err == nil {
		p.pid = cmd.Process.Pid
	} else {
		f.proc = nil
	}
	f.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", f.Path, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	if f.hookStarted != nil {
		f.hookStarted()
	}
	return p, nil
}

// stop kills p's process group and waits for it to end.
func (f *Function) stop(p *process) {
	syscall.Kill(-p.pid, syscall.SIGKILL)
	<-p.exited
	p.flush() // all it wrote is in the log once it is stopped
	f.mu.Lock()
	if f.proc == p {
		f.proc = nil
	}
	f.mu.Unlock()
}

func (f *Function) handleNext(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	p := f.proc
	if p != nil && p.firstNext.IsZero() {
		p.firstNext = time.Now()
	}
	f.mu.Unlock()
	if f.hookNext != nil {
		f.hookNext()
	}
	if p == nil {
		// Only a process already stopped can ask while none runs: the
		// process is registered before it starts.
		apiError(w, http.StatusGone, "ProcessStopped", "this runtime's process was stopped")
		return
	}
	var inv *invocation
	for inv == nil {
		select {
		case inv = <-f.next:
		case <-r.Context().Done():
			return
		}
		// A process killed right after it asked for its next event (out
		// of memory found by the last sample, or killed from outside)
		// leaves this request waiting until the server notices the
		// closed connection; the event must go to the process that runs
		// now instead of being lost.
		f.mu.Lock()
		stale := f.proc != p
		if !stale {
			select {
			case <-p.exited:
				stale = true
			default:
			}
		}
		if !stale {
			inv.handed = time.Now()
		}
		f.mu.Unlock()
		if stale {
			f.next <- inv // the buffer is empty: this took the only one
			apiError(w, http.StatusGone, "ProcessStopped", "this runtime's process was stopped")
			return
		}
	}
	p.flush() // its init logs come before START
	fmt.Fprintf(f.stdout, "START RequestId: %s Version: $LATEST\n", inv.id)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:"+f.nameOr())
	// A request id may be any string (a caller's own), so the trace ids
	// are random hex of X-Ray's lengths.
	hexID := strings.ReplaceAll(newRequestID(), "-", "")
	h.Set("Lambda-Runtime-Trace-Id", fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), hexID[:24], hexID[16:]))
	w.Write(inv.payload)
}

func (f *Function) nameOr() string {
	if f.Name == "" {
		return "function"
	}
	return f.Name
}

// pendingFor finds the invocation a response names, or answers 400 as
// Lambda does for an unknown request id.
func (f *Function) pendingFor(w http.ResponseWriter, r *http.Request) *invocation {
	f.mu.Lock()
	inv := f.pending[r.PathValue("id")]
	f.mu.Unlock()
	if inv == nil {
		apiError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation "+strconv.Quote(r.PathValue("id"))+" is waiting for an answer")
	}
	return inv
}

func (f *Function) handleResponse(w http.ResponseWriter, r *http.Request) {
	inv := f.pendingFor(w, r)
	if inv == nil {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxResponseBytes+1))
	if err != nil {
		apiError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	if len(body) > MaxResponseBytes {
		deliver(inv, outcome{err: &FunctionError{Type: "Function.ResponseSizeTooLarge", Message: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxResponseBytes)}})
		apiError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", fmt.Sprintf("the response is over %d bytes", MaxResponseBytes))
		return
	}
	deliver(inv, outcome{payload: body})
	accepted(w)
}

func (f *Function) handleError(w http.ResponseWriter, r *http.Request) {
	inv := f.pendingFor(w, r)
	if inv == nil {
		return
	}
	deliver(inv, outcome{err: readError(r)})
	accepted(w)
}

func (f *Function) handleInitError(w http.ResponseWriter, r *http.Request) {
	e := readError(r)
	f.mu.Lock()
	p := f.proc
	f.mu.Unlock()
	if p != nil {
		select {
		case p.initErr <- e:
		default:
		}
	}
	accepted(w)
}

// readError reads an error document; its type comes from the body, else
// from Lambda-Runtime-Function-Error-Type.
func readError(r *http.Request) *FunctionError {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	e := &FunctionError{}
	if err := json.Unmarshal(body, e); err != nil || (e.Type == "" && e.Message == "") {
		e = &FunctionError{Message: strings.TrimSpace(string(body))}
	}
	if e.Type == "" {
		e.Type = r.Header.Get("Lambda-Runtime-Function-Error-Type")
	}
	if e.Type == "" {
		e.Type = "Unhandled"
	}
	return e
}

func deliver(inv *invocation, o outcome) {
	o.at = time.Now()
	select {
	case inv.done <- o:
	default: // answered already
	}
}

func accepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

func apiError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(FunctionError{Type: typ, Message: msg})
}

// NewRequestID returns a new request id in Lambda's form, a random UUID.
func NewRequestID() string { return newRequestID() }

func newRequestID() string {
	b := make([]byte, 16)
	rand.Read(b)
	s := hex.EncodeToString(b)
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

func sortedEnv(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// serialised returns w for the process and the harness to write to at
// once: an *os.File as it is (its writes are safe at once, and the
// process writes to it directly, in order with the harness's lines), any
// other writer behind f.logMu.
func (f *Function) serialised(w io.Writer) io.Writer {
	switch w := w.(type) {
	case nil:
		return io.Discard
	case *os.File:
		return w
	default:
		return &lockedWriter{mu: &f.logMu, w: w}
	}
}

// connectOutput points cmd's stdout and stderr at f's writers: a file as
// it is, another writer through an outputPipe, nothing to /dev/null. It
// returns the pipes and the ends to close once the process has started.
func (f *Function) connectOutput(cmd *exec.Cmd) (pipes []*outputPipe, ends []*os.File, err error) {
	connect := func(w io.Writer) (io.Writer, error) {
		if file, ok := w.(*os.File); ok {
			return file, nil
		}
		if w == io.Discard {
			return nil, nil
		}
		pipe, end, err := newOutputPipe(w)
		if err != nil {
			return nil, err
		}
		pipes, ends = append(pipes, pipe), append(ends, end)
		return end, nil
	}
	if cmd.Stdout, err = connect(f.stdout); err == nil {
		if sameWriter(f.stdout, f.stderr) {
			cmd.Stderr = cmd.Stdout
		} else {
			cmd.Stderr, err = connect(f.stderr)
		}
	}
	if err != nil {
		for _, end := range ends {
			end.Close()
		}
	}
	return pipes, ends, err
}

// flush copies what p has written so far to the function's log.
func (p *process) flush() {
	for _, o := range p.outputs {
		o.flush()
	}
}

// sameWriter is a == b without the panic of comparing two values of an
// uncomparable type.
func sameWriter(a, b io.Writer) (same bool) {
	defer func() { recover() }()
	return a == b
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
