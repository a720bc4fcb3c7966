package localstack

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3ocr/s3ocr/api"
	"github.com/s3ocr/s3ocr/internal/config"
	"github.com/s3ocr/s3ocr/internal/dynamostore"
	"github.com/s3ocr/s3ocr/internal/s3store"
	"github.com/s3ocr/s3ocr/internal/samtemplate"
)

// Options configure a local stack. The zero value works.
type Options struct {
	Dir            string            // data and logs; a new temporary directory when ""
	APIAddr        string            // where the API listens; a free loopback port when ""
	AllowedOrigins []string          // the template's AllowedOrigins parameter; default the API's own origin
	Parameters     map[string]string // template parameters over their defaults, as `sam deploy --parameter-overrides`
	Template       string            // the SAM template; default template.yaml at the module root
	Log            *slog.Logger      // the stack's own messages; default text to stderr
	PersistDynamo  bool              // keep dynalite's tables on disk, so RestartDynamo keeps them
	RetryBackoff   []time.Duration   // async retry delays; default Lambda's 1 and 2 minutes (scale ClaimLease down with them)
	// DevAuth turns the template's JWT authorizer on with a development
	// issuer of the stack's own (AuthIssuer and AuthAudience set to it,
	// unless Parameters set them): tokens from POST /dev/token. make dev
	// sets it from S3OCR_DEV_AUTH=1.
	DevAuth bool
}

// devIssuerPath is where the development issuer lives on the API's server.
const devIssuerPath = "/dev/oidc"

// NoQuotas are the parameters that turn the per-caller daily quotas off:
// for the test suites, the load test, the benchmarks and the evaluation,
// which send more from one address than a day's default quota.
func NoQuotas() map[string]string {
	return map[string]string{"QuotaUploadsPerDay": "0", "QuotaBytesPerDay": "0", "QuotaPagesPerDay": "0"}
}

// StackName stands for AWS::StackName locally.
const StackName = "s3ocr-local"

// accountID stands for AWS::AccountId locally.
const accountID = "000000000000"

// Stack is a running local stack: the template's functions, built from
// their own main packages and run under the Runtime API, behind a local API
// Gateway and a local Lambda service, against MinIO and dynalite.
type Stack struct {
	APIURL         string // http://127.0.0.1:PORT
	S3Endpoint     string
	DynamoEndpoint string
	LambdaEndpoint string
	SQSEndpoint    string
	// DeadLetterQueueURL is the process function's on-failure destination,
	// a queue of the local SQS service, as the template's DeadLetterQueue.
	DeadLetterQueueURL string
	Bucket, Table      string
	Dir                string
	// Env holds what the stack sets over the template for every function:
	// the SDK's endpoint, region and credential variables.
	Env    map[string]string
	Wiring *samtemplate.Wiring
	// Dev is the development issuer when the stack runs with DevAuth.
	Dev *DevIssuer

	S3     *s3.Client
	Dynamo *dynamodb.Client
	Lambda *Lambda // the functions, invoked by the gateway, by S3 events and through the Invoke API
	MinIO  *MinIO
	SQS    *SQS
	Dyn    *Dynalite

	queueNames            map[string]string // the on-failure queues' names, by logical id
	functionEnv           map[string]map[string]string
	processLog            string // the log file of the function S3 events go to
	apiServer, hookServer *http.Server
	tempDir               bool
	dynOpts               DynaliteOptions
	logFiles              []*os.File
}

// DefaultTessdata is where Debian's tesseract-ocr packages put language data.
const DefaultTessdata = "/usr/share/tesseract-ocr/5/tessdata"

// layerPaths maps where the template's layer puts things (under /opt) to
// where this machine has them: locally the layer's contents are the host's
// own packages, which is what the layer bundles.
func layerPaths(tessdata string) map[string]string {
	return map[string]string{"/opt/share/tessdata": tessdata}
}

// Start builds the template's functions with the Makefile, starts MinIO,
// dynalite, the Lambda service and the API, wires them as template.yaml
// says, and returns once an object written under the S3 event's prefix has
// produced an event: MinIO drops notifications made right after it reports
// ready, so readiness is proven end to end.
//
// ctx bounds starting the servers; building the functions (buildTimeout)
// and proving that events flow (a minute) have bounds of their own.
//
// Start sets the SDK's standard variables (AWS_ENDPOINT_URL_S3, …) in this
// process's environment too, so the test's own clients find the servers as
// the functions do.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	s := &Stack{Dir: opts.Dir}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	tplPath := opts.Template
	if tplPath == "" {
		tplPath = filepath.Join(root, "template.yaml")
	}
	tpl, err := samtemplate.Load(tplPath)
	if err != nil {
		return nil, err
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

	// The functions are built while the servers start, within a bound of
	// their own rather than ctx's: on a fresh machine the Go build cache
	// is cold, and with every test package that starts a stack building
	// the same functions at once on two cores, the build took longer than
	// the two minutes the tests give the servers.
	built := make(chan error, 1)
	bins := filepath.Join(s.Dir, "functions")
	buildCtx, cancelBuild := context.WithTimeout(context.WithoutCancel(ctx), buildTimeout)
	defer cancelBuild()
	go func() { built <- buildFunctions(buildCtx, root, bins, tpl) }()

	apiAddr := opts.APIAddr
	if apiAddr == "" {
		apiAddr = "127.0.0.1:0"
	}
	apiLn, err := net.Listen("tcp", apiAddr)
	if err != nil {
		return nil, fmt.Errorf("API address %s: %w", apiAddr, err)
	}
	defer func() {
		if err != nil {
			apiLn.Close()
		}
	}()
	s.APIURL = "http://" + apiLn.Addr().String()
	origins := opts.AllowedOrigins
	if len(origins) == 0 {
		origins = []string{s.APIURL, strings.Replace(s.APIURL, "127.0.0.1", "localhost", 1)}
	}

	// The webhook listens before MinIO starts, so MinIO finds it up.
	hookLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hook := &Webhook{Log: log.With("component", "webhook")}
	s.hookServer = &http.Server{Handler: hook, ReadHeaderTimeout: 10 * time.Second}
	go s.hookServer.Serve(hookLn)

	s.dynOpts = DynaliteOptions{Dir: filepath.Join(s.Dir, "dynalite")}
	if opts.PersistDynamo {
		s.dynOpts.DataDir = filepath.Join(s.Dir, "dynalite", "data")
	}
	if s.Dyn, err = StartDynalite(ctx, s.dynOpts); err != nil {
		return nil, err
	}
	const hookID = "S3OCR"
	if s.MinIO, err = StartMinIO(ctx, MinIOOptions{
		Dir:             filepath.Join(s.Dir, "minio"),
		Webhooks:        map[string]string{hookID: "http://" + hookLn.Addr().String() + "/events"},
		CORSAllowOrigin: strings.Join(origins, ","),
	}); err != nil {
		return nil, err
	}
	s.S3Endpoint, s.DynamoEndpoint = s.MinIO.Endpoint, s.Dyn.Endpoint
	lambdaLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil && s.Lambda == nil {
			lambdaLn.Close()
		}
	}()
	s.LambdaEndpoint = "http://" + lambdaLn.Addr().String()

	tessdata := or(os.Getenv(config.EnvTessdata), DefaultTessdata)
	langs, err := installedLanguages(tessdata)
	if err != nil {
		return nil, err
	}
	params := map[string]string{
		"AllowedOrigins": strings.Join(origins, ","),
		// The layer is built with every language this machine has
		// (make layer LANGUAGES=…), so the function may offer them all.
		"OcrLanguages": strings.Join(langs, ","),
	}
	if opts.DevAuth {
		if s.Dev, err = NewDevIssuer(s.APIURL+devIssuerPath, DevAudience); err != nil {
			return nil, err
		}
		params["AuthIssuer"], params["AuthAudience"] = s.Dev.Issuer, s.Dev.Audience
	}
	maps.Copy(params, opts.Parameters)
	names := s.names(tpl, params)
	if s.Wiring, err = tpl.Wiring(params, names); err != nil {
		return nil, err
	}
	if s.Bucket, err = names.bucket(); err != nil {
		return nil, err
	}
	s.Table, _ = names.Ref("Table")
	var queues []string
	s.queueNames = map[string]string{}
	for _, fn := range s.Wiring.Functions {
		if fn.OnFailure != "" && s.queueNames[fn.OnFailure] == "" {
			q, _ := names.Ref(fn.OnFailure)
			s.queueNames[fn.OnFailure] = q
			queues = append(queues, q)
		}
	}
	if s.SQS, err = StartSQS("", queues...); err != nil {
		return nil, err
	}
	s.SQSEndpoint = s.SQS.Endpoint
	if len(queues) > 0 {
		s.DeadLetterQueueURL = s.SQS.QueueURL(queues[0])
	}

	s.Env = map[string]string{
		"AWS_ENDPOINT_URL_S3":       s.MinIO.Endpoint,
		"AWS_ENDPOINT_URL_DYNAMODB": s.Dyn.Endpoint,
		"AWS_ENDPOINT_URL_LAMBDA":   s.LambdaEndpoint,
		"AWS_ENDPOINT_URL_SQS":      s.SQSEndpoint,
		"AWS_REGION":                s.MinIO.Region,
		"AWS_ACCESS_KEY_ID":         s.MinIO.AccessKey,
		"AWS_SECRET_ACCESS_KEY":     s.MinIO.SecretKey,
	}
	for k, v := range s.Env {
		os.Setenv(k, v)
	}
	os.Unsetenv("AWS_SESSION_TOKEN")
	os.Unsetenv("AWS_PROFILE")
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	s.S3 = s3store.NewClient(awsCfg)
	s.Dynamo = dynamodb.NewFromConfig(awsCfg)
	if err = dynamostore.CreateTable(ctx, s.Dynamo, s.Table); err != nil {
		return nil, fmt.Errorf("create table: %w", err)
	}
	if len(s.Wiring.S3Events) != 1 {
		return nil, fmt.Errorf("template: the local stack delivers one S3 event source, the template has %d", len(s.Wiring.S3Events))
	}
	s3ev := s.Wiring.S3Events[0]
	if err = ConfigureBucket(ctx, s.S3, s.Bucket, s3ev.Prefix, s.MinIO.WebhookARN(hookID)); err != nil {
		return nil, fmt.Errorf("configure bucket: %w", err)
	}

	if err = <-built; err != nil {
		return nil, err
	}
	if err = s.startFunctions(bins, lambdaLn, opts, layerPaths(tessdata), log); err != nil {
		return nil, err
	}
	hook.SetDeliver(func(eventName, key string, payload []byte) {
		if !s3ev.Matches(eventName, key) {
			return
		}
		if _, err := s.Lambda.InvokeAsync(s3ev.Function, payload); err != nil {
			log.Error("S3 event not delivered", "function", s3ev.Function, "key", key, "err", err)
		}
	})

	gw := &Gateway{Lambda: s.Lambda, Routes: s.Wiring.Routes, CORS: s.Wiring.CORS, Log: log.With("component", "gateway")}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(api.OpenAPI)
	})
	if s.Dev != nil {
		s.Dev.Handle(mux, devIssuerPath)
	}
	mux.Handle("/", gw)
	s.apiServer = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.apiServer.Serve(apiLn)

	// Its own bound too: ctx's may have been spent waiting for the build.
	if err = s.awaitNotifications(context.WithoutCancel(ctx), hook, s3ev.Prefix); err != nil {
		return nil, err
	}
	log.Info("local stack ready", "api", s.APIURL, "s3", s.S3Endpoint, "dynamodb", s.DynamoEndpoint, "lambda", s.LambdaEndpoint,
		"bucket", s.Bucket, "table", s.Table, "dir", s.Dir)
	return s, nil
}

// buildTimeout bounds building the functions (see Start).
const buildTimeout = 15 * time.Minute

// buildFunctions builds every function of the template with the Makefile's
// build-<LogicalId> target, as `sam build` does, for this machine's
// architecture; the process function is linked dynamically (LINK=dynamic).
func buildFunctions(ctx context.Context, root, dir string, tpl *samtemplate.Template) error {
	names := slices.Sorted(maps.Keys(tpl.Functions()))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.CommandContext(ctx, "make", "-s", "--no-print-directory", "-C", root, "build-"+name,
				"ARTIFACTS_DIR="+filepath.Join(dir, name), "GOARCH="+runtime.GOARCH, "LINK=dynamic")
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("make build-%s: %w\n%s", name, err, out)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// startFunctions starts the Lambda service with every function of the
// wiring: its environment from the template with the local endpoints over
// it, its memory, timeout, reserved concurrency and async settings.
func (s *Stack) startFunctions(bins string, ln net.Listener, opts Options, layer map[string]string, log *slog.Logger) error {
	logDir := filepath.Join(s.Dir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}
	s.functionEnv = map[string]map[string]string{}
	var specs []FunctionSpec
	for _, name := range slices.Sorted(maps.Keys(s.Wiring.Functions)) {
		fn := s.Wiring.Functions[name]
		env := maps.Clone(fn.Env)
		if len(fn.Layers) > 0 {
			for k, v := range env {
				if local, ok := layer[v]; ok {
					env[k] = local
				}
			}
		}
		maps.Copy(env, s.Env)
		s.functionEnv[name] = env
		// The log is a file the function's process writes to itself (no
		// pipe between), so a line it wrote before answering is in the file
		// once its invocation is over: counting from the file is exact.
		path := filepath.Join(logDir, name+".log")
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		s.logFiles = append(s.logFiles, f)
		if name == s.Wiring.S3Events[0].Function {
			s.processLog = path
		}
		retries := fn.MaxRetryAttempts
		spec := FunctionSpec{
			Name: name, Path: filepath.Join(bins, name, "bootstrap"), Env: env,
			MemoryMB: fn.MemoryMB, Timeout: fn.Timeout, ReservedConcurrency: fn.ReservedConcurrency,
			MaxRetryAttempts: &retries, MaxEventAge: fn.MaxEventAge,
			Log: f,
		}
		if fn.OnFailure != "" {
			queue := s.queueNames[fn.OnFailure]
			spec.DeadLetter = func(record []byte) error { return s.SQS.Send(queue, string(record)) }
		}
		specs = append(specs, spec)
	}
	l, err := StartLambda(specs, LambdaOptions{Listener: ln, Backoff: opts.RetryBackoff, Log: log.With("component", "lambda")})
	if err != nil {
		return err
	}
	s.Lambda = l
	return nil
}

// FunctionEnv returns a function's environment as the local stack runs it:
// the template's variables, resolved, with the local endpoints over them.
func (s *Stack) FunctionEnv(name string) map[string]string { return maps.Clone(s.functionEnv[name]) }

// DeadLetters returns the events the Lambda service gave up on: the
// destination records in the dead-letter queue, received or not.
func (s *Stack) DeadLetters() ([]string, error) {
	if s.DeadLetterQueueURL == "" {
		return nil, nil
	}
	return s.SQS.Messages(s.DeadLetterQueueURL[strings.LastIndex(s.DeadLetterQueueURL, "/")+1:]), nil
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

// RecoverDynamo ends an outage StopDynamo began, once an invocation of the
// function has failed for it (its failures past failuresBefore,
// Lambda.Stats): DynamoDB is started again while the function's queued
// events are held, so that their retries find it up however long the
// restart takes on a loaded machine (timing the outage instead, a fixed
// 8 s, once outlasted all three attempts of an event). Fault tests use it;
// it needs PersistDynamo.
func (s *Stack) RecoverDynamo(ctx context.Context, function string, failuresBefore int) error {
	for s.Lambda.Stats(function).Failures <= failuresBefore {
		if ctx.Err() != nil {
			return fmt.Errorf("no invocation of %s failed while DynamoDB was down: %w", function, ctx.Err())
		}
		time.Sleep(50 * time.Millisecond)
	}
	release, err := s.Lambda.Hold(function)
	if err != nil {
		return err
	}
	defer release()
	return s.StartDynamo(ctx)
}

// OCRRuns returns how many documents the process function has read, from
// its log lines ("object processed" with outcome processed), as one would
// count them in CloudWatch Logs. Lines of invocations still running may be
// missing: wait for them first (Lambda.Wait, or the upload's status).
func (s *Stack) OCRRuns() int64 { runs, _ := s.countLog(); return runs }

// EnginePages returns how many pages the process function's engine has
// recognised (not read from a PDF's text layer), from its log lines.
func (s *Stack) EnginePages() int64 { _, pages := s.countLog(); return pages }

// LogPaths returns each function's log file: its stdout and stderr, and the
// Lambda service's START, END and REPORT lines.
func (s *Stack) LogPaths() map[string]string {
	out := map[string]string{}
	for name := range s.functionEnv {
		out[name] = filepath.Join(s.Dir, "logs", name+".log")
	}
	return out
}

func (s *Stack) countLog() (runs, pages int64) {
	f, err := os.Open(s.processLog)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var rec struct {
			Msg         string `json:"msg"`
			Outcome     string `json:"outcome"`
			Pages       int64  `json:"pages"`
			EnginePages int64  `json:"enginePages"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "object processed" && rec.Outcome == "processed" && rec.Pages > 0 {
			runs++
			pages += rec.EnginePages
		}
	}
	return runs, pages
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
	if s.Lambda != nil {
		_ = s.Lambda.Close()
	}
	if s.Dyn != nil {
		_ = s.Dyn.Stop()
	}
	if s.SQS != nil {
		_ = s.SQS.Close()
	}
	for _, f := range s.logFiles {
		_ = f.Close()
	}
	if s.tempDir {
		_ = os.RemoveAll(s.Dir)
	}
	return nil
}

// localNames resolves what CloudFormation would compute, for the local
// stack: resources are named after the stack and their logical id unless
// the template names them, as CloudFormation does.
type localNames struct {
	t      *samtemplate.Template
	params map[string]string
	region string
}

func (s *Stack) names(t *samtemplate.Template, params map[string]string) localNames {
	return localNames{t: t, params: params, region: s.MinIO.Region}
}

// nameProperty is the property that names each kind of resource.
var nameProperty = map[string]string{
	"AWS::S3::Bucket": "BucketName", "AWS::DynamoDB::Table": "TableName", "AWS::SQS::Queue": "QueueName",
	"AWS::Serverless::Function": "FunctionName",
}

func (n localNames) Ref(id string) (string, bool) {
	r, ok := n.t.Resources[id]
	if !ok {
		return "", false
	}
	if r.Type == "AWS::Serverless::Function" {
		return id, true // the local Lambda service knows functions by logical id
	}
	if v, ok := r.Properties[nameProperty[r.Type]]; ok {
		s, err := n.t.Resolve(v, n.params, n)
		return s, err == nil
	}
	return StackName + "-" + id, true
}

func (n localNames) GetAtt(id, attr string) (string, bool) {
	r, ok := n.t.Resources[id]
	if !ok {
		return "", false
	}
	name, _ := n.Ref(id)
	switch {
	case attr == "Arn" && r.Type == "AWS::DynamoDB::Table":
		return "arn:aws:dynamodb:" + n.region + ":" + accountID + ":table/" + name, true
	case attr == "Arn" && r.Type == "AWS::SQS::Queue":
		return "arn:aws:sqs:" + n.region + ":" + accountID + ":" + name, true
	case attr == "Arn":
		return "arn:aws:local:" + n.region + ":" + accountID + ":" + name, true
	default:
		return name, true
	}
}

func (n localNames) Pseudo(p string) (string, bool) {
	switch p {
	case "AWS::StackName":
		return StackName, true
	case "AWS::AccountId":
		return accountID, true
	case "AWS::Region":
		return n.region, true
	case "AWS::Partition":
		return "aws", true
	case "AWS::URLSuffix":
		return "amazonaws.com", true
	case "AWS::StackId":
		// CloudFormation's stack id ends in a UUID of its own; locally the
		// stack is one per machine, so a fixed one stands for it.
		return "arn:aws:cloudformation:" + n.region + ":" + accountID + ":stack/" + StackName + "/00000000-0000-4000-8000-000000000000", true
	}
	return "", false
}

// bucket is the name of the template's one bucket.
func (n localNames) bucket() (string, error) {
	for id, r := range n.t.Resources {
		if r.Type == "AWS::S3::Bucket" {
			if name, ok := n.Ref(id); ok {
				return name, nil
			}
			return "", fmt.Errorf("template: the name of bucket %s cannot be resolved", id)
		}
	}
	return "", errors.New("template: no AWS::S3::Bucket")
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
