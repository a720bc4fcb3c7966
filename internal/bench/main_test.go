package bench

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3ocr/s3ocr/internal/app"
	"github.com/s3ocr/s3ocr/internal/app/processapp"
	"github.com/s3ocr/s3ocr/internal/config"
	"github.com/s3ocr/s3ocr/internal/handler"
	"github.com/s3ocr/s3ocr/internal/localstack"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/service"
)

// TestMain runs the tests and benchmarks, stopping the local stack if a
// benchmark started it.
func TestMain(m *testing.M) {
	code := m.Run()
	if shared.env != nil {
		shared.env.stack.Close()
		shared.env.logs.Close()
	}
	os.Exit(code)
}

// benchPrefix is where the benchmarks put the objects they hand to the
// process function themselves. It is not the stack's upload prefix, so
// MinIO's notifications never run the stack's own process containers on
// them: every figure comes from exactly the invocations a benchmark times.
const benchPrefix = "bench/"

// env is the local stack (MinIO and dynalite on loopback) with the
// functions built as the Lambda mains build them, from the same settings.
type env struct {
	stack   *localstack.Stack
	awsCfg  aws.Config
	vars    map[string]string // the functions' environment, with UPLOAD_PREFIX=bench/
	uploads *service.Uploads  // the upload function's service
	status  *handler.API      // the status function
	logs    *os.File          // the functions' stdout (their JSON logs and metrics)
}

var shared struct {
	once sync.Once
	env  *env
	err  error
}

// stack starts the local stack once per process, or skips the benchmark
// when its servers are not installed (unless S3OCR_REQUIRE_TOOLS=1).
func stack(b *testing.B) *env {
	b.Helper()
	shared.once.Do(func() { shared.env, shared.err = startEnv() })
	if shared.err != nil {
		if localstack.Skippable(shared.err) {
			b.Skip("local stack:", shared.err)
		}
		b.Fatal("local stack:", shared.err)
	}
	return shared.env
}

func startEnv() (*env, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := localstack.Start(ctx, localstack.Options{
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		// Its process function gets no events (see benchPrefix): one container.
		Parameters: map[string]string{"ProcessReservedConcurrency": "1", "QuotaUploadsPerDay": "0", "QuotaBytesPerDay": "0", "QuotaPagesPerDay": "0"},
	})
	if err != nil {
		return nil, err
	}
	e := &env{stack: s, vars: map[string]string{}}
	// The benchmarks build the functions in process, with the environment
	// the stack gives each (they agree on the variables they share).
	for _, fn := range []string{"UploadFunction", "StatusFunction", "ProcessFunction"} {
		for k, v := range s.FunctionEnv(fn) {
			e.vars[k] = v
		}
	}
	e.vars[config.EnvUploadPrefix] = benchPrefix
	// The process function runs as Lambda runs it at the template's memory
	// size, which decides its engines (one vCPU, one engine, at 1,769 MB).
	e.vars["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = strconv.Itoa(s.Wiring.Functions["ProcessFunction"].MemoryMB)
	if e.logs, err = os.Create(filepath.Join(s.Dir, "functions.log")); err != nil {
		s.Close()
		return nil, err
	}
	// Start put the SDK's variables in this process's environment.
	if e.awsCfg, err = awsconfig.LoadDefaultConfig(ctx); err != nil {
		s.Close()
		return nil, err
	}
	err = e.withStdout(func() error {
		up, err := app.UploadAPI(e.awsCfg, e.get)
		if err != nil {
			return err
		}
		e.uploads = up.Uploads
		e.status, err = app.StatusAPI(e.awsCfg, e.get)
		return err
	})
	if err != nil {
		s.Close()
		return nil, err
	}
	return e, nil
}

func (e *env) get(k string) string { return e.vars[k] }

// stdoutMu serialises withStdout.
var stdoutMu sync.Mutex

// withStdout runs fn with os.Stdout pointing at the functions' log file. The
// functions log JSON and write metrics to the os.Stdout they are built with,
// as on Lambda; here the writes still happen, to a file, instead of mixing
// with the benchmark results on the real stdout.
func (e *env) withStdout(fn func() error) error {
	stdoutMu.Lock()
	defer stdoutMu.Unlock()
	saved := os.Stdout
	os.Stdout = e.logs
	defer func() { os.Stdout = saved }()
	return fn()
}

// process builds a process function container: its own warm engine, built by
// processapp as functions/process/main.go builds it, with a recorder of
// each call's report in front of its metrics.
func (e *env) process(b *testing.B) (*handler.S3, *recorder) {
	b.Helper()
	var h *handler.S3
	err := e.withStdout(func() (err error) {
		h, err = processapp.New(e.awsCfg, e.get)
		return err
	})
	if err != nil {
		b.Fatal("process function:", err)
	}
	rec := &recorder{next: h.Processor.Observer}
	h.Processor.Observer = rec
	return h, rec
}

// recorder keeps the last report the processor made.
type recorder struct {
	next service.Observer
	mu   sync.Mutex
	last service.Report
}

func (r *recorder) Observe(ctx context.Context, rep service.Report) {
	r.mu.Lock()
	r.last = rep
	r.mu.Unlock()
	if r.next != nil {
		r.next.Observe(ctx, rep)
	}
}

func (r *recorder) Last() service.Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// upload records an upload with the upload function's service, as POST
// /uploads does, and stores content as its object under benchPrefix. It
// returns the upload id and the event S3 would send for the object.
func (e *env) upload(tb testing.TB, content []byte, contentType string) (string, events.S3Event) {
	tb.Helper()
	return e.uploadIn(tb, content, contentType, "eng")
}

// uploadIn is upload with the languages to read.
func (e *env) uploadIn(tb testing.TB, content []byte, contentType string, langs ...string) (string, events.S3Event) {
	tb.Helper()
	ctx := context.Background()
	up, err := e.uploads.Create(ctx, service.CreateUploadRequest{
		Filename: "page", ContentType: contentType, Size: int64(len(content)), Languages: langs,
	})
	if err != nil {
		tb.Fatal("create upload:", err)
	}
	key := benchPrefix + up.UploadID
	if _, err := e.stack.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &e.stack.Bucket, Key: &key, Body: bytes.NewReader(content), ContentType: &contentType,
	}); err != nil {
		tb.Fatal("put object:", err)
	}
	return up.UploadID, objectCreated(e.stack.Bucket, key)
}

// objectCreated is the notification S3 sends for a POSTed object.
func objectCreated(bucket, key string) events.S3Event {
	return events.S3Event{Records: []events.S3EventRecord{{
		EventSource: "aws:s3", EventName: "ObjectCreated:Post", EventTime: time.Now(),
		S3: events.S3Entity{
			Bucket: events.S3Bucket{Name: bucket, Arn: "arn:aws:s3:::" + bucket},
			Object: events.S3Object{Key: url.QueryEscape(key), URLDecodedKey: key},
		},
	}}}
}

// getUpload asks the status function for an upload, as GET /uploads/{id}.
func getUpload(ctx context.Context, api *handler.API, id string) (events.APIGatewayV2HTTPResponse, error) {
	return api.GetUpload(ctx, events.APIGatewayV2HTTPRequest{
		RouteKey: handler.RouteGetUpload, RawPath: "/uploads/" + id,
		PathParameters: map[string]string{"uploadId": id},
		Headers:        map[string]string{"accept": "application/json"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
			Method: "GET", Path: "/uploads/" + id,
		}},
	})
}

// mustBeDone fails unless the upload is done.
func (e *env) mustBeDone(tb testing.TB, id string) *service.UploadStatus {
	tb.Helper()
	st, err := e.status.Status.Get(context.Background(), id)
	if err != nil {
		tb.Fatal("status:", err)
	}
	if st.Status != ocr.StatusDone || st.Result == nil {
		tb.Fatalf("upload %s is %s (%+v), want done", id, st.Status, st.Error)
	}
	return st
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return rusageCPU(&ru)
}

func rusageCPU(ru *syscall.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// percentile returns the p-th percentile (0–1) of the durations, nearest
// rank; ds is sorted in place.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(p*float64(len(ds))+0.5) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// handle times the process handler on one event, the benchmark's timer
// running only meanwhile, and fails unless the page was read (not found
// cached). It returns the wall and CPU time and the processor's report.
func handle(b *testing.B, proc *handler.S3, rec *recorder, ev events.S3Event) (wall, cpu time.Duration, r service.Report) {
	b.Helper()
	b.StartTimer()
	t0, c0 := time.Now(), cpuTime()
	err := proc.Handle(context.Background(), ev)
	wall, cpu = time.Since(t0), cpuTime()-c0
	b.StopTimer()
	if err != nil {
		b.Fatal("process:", err)
	}
	if r = rec.Last(); r.Outcome != service.OutcomeProcessed {
		b.Fatalf("process: outcome %s, want processed", r.Outcome)
	}
	return wall, cpu, r
}

// runCLI times the tesseract command line on one file, as a shell script or
// a cold container runs it: its wall and CPU time and what it printed.
func runCLI(b *testing.B, cli string, args ...string) (wall, cpu time.Duration, text string) {
	b.Helper()
	var out bytes.Buffer
	cmd := exec.Command(cli, args...)
	cmd.Stdout = &out
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatal("tesseract:", err)
	}
	return time.Since(t0), rusageCPU(cmd.ProcessState.SysUsage().(*syscall.Rusage)), out.String()
}
