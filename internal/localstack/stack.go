package localstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3ocr/s3ocr/api"
	"github.com/s3ocr/s3ocr/internal/app"
	"github.com/s3ocr/s3ocr/internal/app/processapp"
	"github.com/s3ocr/s3ocr/internal/config"
	"github.com/s3ocr/s3ocr/internal/dynamostore"
	"github.com/s3ocr/s3ocr/internal/handler"
	"github.com/s3ocr/s3ocr/internal/s3store"
)

// Options configure a local stack. The zero value works.
type Options struct {
	Dir            string            // data and logs; a new temporary directory when ""
	APIAddr        string            // where the API listens; a free loopback port when ""
	Bucket         string            // default "s3ocr-local"
	Table          string            // default "s3ocr-local"
	AllowedOrigins []string          // CORS origins for the API and MinIO; default the API's own origin
	Settings       map[string]string // function settings (MAX_UPLOAD_BYTES, …) over the defaults
	Static         http.Handler      // served at / for GET requests no route matches
	Log            *slog.Logger      // the stack's own messages; default text to stderr
	InvokeTimeout  time.Duration     // process function timeout; default 5m
	Containers     int               // process function containers running at once; default GOMAXPROCS
	PersistDynamo  bool              // keep dynalite's tables on disk, so RestartDynamo keeps them
	RetryBackoff   []time.Duration   // async retry delays; default 1s, 2s
}

// Stack is a running local stack.
type Stack struct {
	APIURL         string // http://127.0.0.1:PORT
	S3Endpoint     string
	DynamoEndpoint string
	Bucket, Table  string
	Dir            string
	Env            map[string]string // the functions' environment: SDK variables and settings

	S3        *s3.Client
	Dynamo    *dynamodb.Client
	Invoker   *AsyncInvoker // the process function's async invocations
	Processes []*handler.S3 // the process function's containers, one per invoker worker
	Upload    *handler.API  // the upload function
	Status    *handler.API  // the status function
	MinIO     *MinIO
	Dyn       *Dynalite

	apiServer, hookServer *http.Server
	tempDir               bool
	dynOpts               DynaliteOptions
}

// DefaultTessdata is where Debian's tesseract-ocr packages put language data.
const DefaultTessdata = "/usr/share/tesseract-ocr/5/tessdata"

// Start starts everything and returns once an object written to the upload
// prefix has produced an event: MinIO drops notifications made right after
// it reports ready, so readiness is proven end to end.
//
// Start sets the SDK's standard variables (AWS_ENDPOINT_URL_S3,
// AWS_ENDPOINT_URL_DYNAMODB, AWS_REGION, credentials) in this process's
// environment, as Lambda sets a function's environment, so the functions
// find the servers exactly as they would find AWS.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	s := &Stack{Bucket: or(opts.Bucket, "s3ocr-local"), Table: or(opts.Table, "s3ocr-local"), Dir: opts.Dir}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if s.Dir == "" {
		if s.Dir, err = os.MkdirTemp("", "s3ocr-stack-"); err != nil {
			return nil, err
		}
		s.tempDir = true
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	apiAddr := opts.APIAddr
	if apiAddr == "" {
		if apiAddr, err = FreeAddr(); err != nil {
			return nil, err
		}
	}
	apiLn, err := net.Listen("tcp", apiAddr)
	if err != nil {
		return nil, fmt.Errorf("API address %s: %w", apiAddr, err)
	}
	s.APIURL = "http://" + apiLn.Addr().String()
	origins := opts.AllowedOrigins
	if len(origins) == 0 {
		origins = []string{s.APIURL, strings.Replace(s.APIURL, "127.0.0.1", "localhost", 1)}
	}

	// The webhook listens before MinIO starts, so MinIO finds it up.
	hookLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		apiLn.Close()
		return nil, err
	}
	s.Invoker = &AsyncInvoker{
		Timeout: or(opts.InvokeTimeout, 5*time.Minute), Backoff: opts.RetryBackoff,
		DeadLetterDir: filepath.Join(s.Dir, "dead-letter"), Log: log.With("component", "invoker"),
	}
	hook := &Webhook{Invoker: s.Invoker, Log: log.With("component", "webhook")}
	s.hookServer = &http.Server{Handler: hook, ReadHeaderTimeout: 10 * time.Second}
	go s.hookServer.Serve(hookLn)

	s.dynOpts = DynaliteOptions{Dir: filepath.Join(s.Dir, "dynalite")}
	if opts.PersistDynamo {
		s.dynOpts.DataDir = filepath.Join(s.Dir, "dynalite", "data")
	}
	if s.Dyn, err = StartDynalite(ctx, s.dynOpts); err != nil {
		apiLn.Close()
		return nil, err
	}
	const hookID = "S3OCR"
	if s.MinIO, err = StartMinIO(ctx, MinIOOptions{
		Dir:             filepath.Join(s.Dir, "minio"),
		Webhooks:        map[string]string{hookID: "http://" + hookLn.Addr().String() + "/events"},
		CORSAllowOrigin: strings.Join(origins, ","),
	}); err != nil {
		apiLn.Close()
		return nil, err
	}
	s.S3Endpoint, s.DynamoEndpoint = s.MinIO.Endpoint, s.Dyn.Endpoint

	tessdata := or(os.Getenv(config.EnvTessdata), DefaultTessdata)
	langs, err := installedLanguages(tessdata)
	if err != nil {
		apiLn.Close()
		return nil, err
	}
	s.Env = map[string]string{
		"AWS_ENDPOINT_URL_S3":       s.MinIO.Endpoint,
		"AWS_ENDPOINT_URL_DYNAMODB": s.Dyn.Endpoint,
		"AWS_REGION":                s.MinIO.Region,
		"AWS_ACCESS_KEY_ID":         s.MinIO.AccessKey,
		"AWS_SECRET_ACCESS_KEY":     s.MinIO.SecretKey,
		config.EnvTable:             s.Table,
		config.EnvBucket:            s.Bucket,
		config.EnvTessdata:          tessdata,
		config.EnvLanguages:         strings.Join(langs, ","),
	}
	for k, v := range opts.Settings {
		s.Env[k] = v
	}
	for _, k := range []string{"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		os.Setenv(k, s.Env[k])
	}
	os.Unsetenv("AWS_SESSION_TOKEN")
	os.Unsetenv("AWS_PROFILE")
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		apiLn.Close()
		return nil, err
	}
	s.S3 = s3store.NewClient(awsCfg)
	s.Dynamo = dynamodb.NewFromConfig(awsCfg)
	if err = dynamostore.CreateTable(ctx, s.Dynamo, s.Table); err != nil {
		apiLn.Close()
		return nil, fmt.Errorf("create table: %w", err)
	}
	get := func(k string) string { return s.Env[k] }
	uploadPrefix, _ := config.LoadStatus(get)
	if err = ConfigureBucket(ctx, s.S3, s.Bucket, uploadPrefix.UploadPrefix, s.MinIO.WebhookARN(hookID)); err != nil {
		apiLn.Close()
		return nil, fmt.Errorf("configure bucket: %w", err)
	}

	if err = s.serveFunctions(awsCfg, get, apiLn, origins, opts.Static, or(opts.Containers, runtime.GOMAXPROCS(0))); err != nil {
		apiLn.Close()
		return nil, err
	}
	if err = s.awaitNotifications(ctx, hook, uploadPrefix.UploadPrefix); err != nil {
		return nil, err
	}
	log.Info("local stack ready", "api", s.APIURL, "s3", s.S3Endpoint, "dynamodb", s.DynamoEndpoint, "bucket", s.Bucket, "table", s.Table, "dir", s.Dir)
	return s, nil
}

// serveFunctions builds the three functions from the stack's environment and
// serves the API routes as API Gateway would route them.
func (s *Stack) serveFunctions(awsCfg aws.Config, get config.Getenv, ln net.Listener, origins []string, static http.Handler, containers int) error {
	upload, err := app.UploadAPI(awsCfg, get)
	if err != nil {
		return fmt.Errorf("upload function: %w", err)
	}
	status, err := app.StatusAPI(awsCfg, get)
	if err != nil {
		return fmt.Errorf("status function: %w", err)
	}
	// Each container has its own warm engine, as on Lambda, so OCR runs
	// in parallel up to the number of containers.
	for range containers {
		process, err := processapp.New(awsCfg, get)
		if err != nil {
			return fmt.Errorf("process function: %w", err)
		}
		s.Processes = append(s.Processes, process)
		s.Invoker.Handlers = append(s.Invoker.Handlers, process.Handle)
	}
	s.Upload, s.Status = upload, status
	if status.Info.Engine.Version == "" {
		// Built by `go run`, not the Makefile, which stamps the version: ask
		// the engine the process function runs.
		status.Info.Engine = s.Processes[0].Processor.Engine.Info()
	}
	gw := &Gateway{AllowedOrigins: origins, Static: static, Routes: []Route{
		{Method: http.MethodPost, Pattern: "/uploads", Handler: func(r *http.Request, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			return upload.CreateUpload(r.Context(), ev)
		}},
		{Method: http.MethodGet, Pattern: "/uploads/{uploadId}", Handler: func(r *http.Request, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			return status.GetUpload(r.Context(), ev)
		}},
		{Method: http.MethodGet, Pattern: "/info", Handler: func(r *http.Request, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			return status.GetInfo(r.Context(), ev)
		}},
	}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(api.OpenAPI)
	})
	mux.Handle("/", gw)
	s.apiServer = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.apiServer.Serve(ln)
	return nil
}

// StopDynamo stops the DynamoDB server, for fault tests; StartDynamo starts
// it again on the same address. With PersistDynamo the tables survive.
func (s *Stack) StopDynamo() error { return s.Dyn.Stop() }

// StartDynamo starts the DynamoDB server StopDynamo stopped.
func (s *Stack) StartDynamo(ctx context.Context) error {
	opts := s.dynOpts
	opts.Addr = s.Dyn.Addr
	d, err := StartDynalite(ctx, opts)
	if err != nil {
		return fmt.Errorf("restart dynalite: %w", err)
	}
	s.Dyn = d
	return nil
}

// OCRRuns returns how many documents the process function's containers
// have handed to the engine.
func (s *Stack) OCRRuns() int64 {
	var n int64
	for _, p := range s.Processes {
		n += p.Processor.Stats.OCRRuns.Load()
	}
	return n
}

// EnginePages returns how many pages the process function's engines have
// recognised.
func (s *Stack) EnginePages() int64 {
	var n int64
	for _, p := range s.Processes {
		n += p.Processor.Stats.EnginePages.Load()
	}
	return n
}

// awaitNotifications writes probe objects until one's event arrives.
func (s *Stack) awaitNotifications(ctx context.Context, hook *Webhook, prefix string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		key := prefix + "_probe-" + hex.EncodeToString(b)
		arrived := hook.ExpectProbe(key)
		if _, err := s.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &s.Bucket, Key: &key, Body: strings.NewReader("probe")}); err != nil {
			return fmt.Errorf("probe object: %w", err)
		}
		select {
		case <-arrived:
			_, _ = s.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.Bucket, Key: &key})
			return nil
		case <-time.After(3 * time.Second):
		case <-ctx.Done():
			return errors.New("MinIO delivered no bucket notification within 60 s; see " + s.MinIO.Log)
		}
	}
}

// Close stops everything Start started.
func (s *Stack) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s.apiServer != nil {
		_ = s.apiServer.Shutdown(ctx)
	}
	if s.MinIO != nil {
		_ = s.MinIO.Stop()
	}
	if s.hookServer != nil {
		_ = s.hookServer.Shutdown(ctx)
	}
	if s.Dyn != nil {
		_ = s.Dyn.Stop()
	}
	if s.tempDir {
		_ = os.RemoveAll(s.Dir)
	}
	return nil
}

func installedLanguages(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.traineddata"))
	if err != nil {
		return nil, err
	}
	var langs []string
	for _, f := range files {
		if l := strings.TrimSuffix(filepath.Base(f), ".traineddata"); l != "osd" {
			langs = append(langs, l)
		}
	}
	if len(langs) == 0 {
		return nil, fmt.Errorf("no Tesseract language data in %s (install tesseract-ocr-eng, or set %s)", dir, config.EnvTessdata)
	}
	slices.Sort(langs)
	return langs, nil
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
