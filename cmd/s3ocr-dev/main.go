// Command s3ocr-dev runs the whole s3ocr flow on this machine (`make dev`),
// wired from template.yaml: MinIO as S3, dynalite as DynamoDB, each
// function built by the Makefile and run under the Lambda Runtime API, the
// HTTP API on 127.0.0.1:8080 (PORT to change) and bucket notifications
// delivered to the process function as Lambda's async invocations.
// Ctrl-C stops it all.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/s3ocr/s3ocr/internal/localstack"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	addr := flag.String("addr", "127.0.0.1:"+port, "address the API listens on")
	dir := flag.String("dir", "", "directory for data and logs (default: a temporary directory, removed on exit)")
	origins := flag.String("origins", "", "comma-separated CORS origins (default: the API's own)")
	envVars := flag.String("env-vars", "", "write the functions' environment as sam local invoke --env-vars JSON to this file (default: sam-env.json in the data directory)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	// S3OCR_DEV_AUTH=1: the template's JWT authorizer on, with a
	// development issuer; tokens from POST /dev/token {"sub":"alice"}.
	opts := localstack.Options{Dir: *dir, APIAddr: *addr, Log: log, DevAuth: os.Getenv("S3OCR_DEV_AUTH") == "1"}
	if *origins != "" {
		opts.AllowedOrigins = strings.Split(*origins, ",")
	}
	start := time.Now()
	stack, err := localstack.Start(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3ocr-dev:", err)
		os.Exit(1)
	}
	defer stack.Close()
	fmt.Printf(`
s3ocr local stack ready in %.1fs, wired from template.yaml

  API        %s
  S3 (MinIO) %s   bucket %s
  DynamoDB   %s   table %s
  Lambda     %s   (the Invoke API)
  SQS        %s   dead-letter queue %s
  data       %s

Routes (each runs its function's own main under the Lambda Runtime API):
`, time.Since(start).Seconds(), stack.APIURL, stack.S3Endpoint, stack.Bucket, stack.DynamoEndpoint, stack.Table, stack.LambdaEndpoint, stack.SQSEndpoint, stack.DeadLetterQueueURL, stack.Dir)
	for _, r := range stack.Wiring.Routes {
		fmt.Printf("  %-26s -> %s\n", r.Key(), r.Function)
	}
	for _, e := range stack.Wiring.S3Events {
		fmt.Printf("  S3 %s %s*%s -> %s (async: %d retries, then the dead-letter queue)\n",
			strings.Join(e.Events, ","), e.Prefix, e.Suffix, e.Function, stack.Wiring.Functions[e.Function].MaxRetryAttempts)
	}
	fmt.Printf("\nFunction logs:\n")
	logs := stack.LogPaths()
	for _, name := range slices.Sorted(maps.Keys(logs)) {
		fmt.Printf("  %-16s %s\n", name, logs[name])
	}
	fmt.Printf(`
Try it:
  curl -s -X POST %s/uploads -H 'content-type: application/json' \
    -d '{"filename":"scan.png","contentType":"image/png","size":123456,"languages":["eng"]}'
`, stack.APIURL)
	if stack.Dev != nil {
		fmt.Printf(`
Authentication is on (S3OCR_DEV_AUTH=1): the upload routes need a token of
the development issuer %s
  TOKEN=$(curl -s -X POST %s/dev/token -d '{"sub":"alice"}' | sed 's/.*"token":"\([^"]*\)".*/\1/')
  curl -s -H "Authorization: Bearer $TOKEN" %s/info
  S3OCR_TOKEN=$TOKEN go run ./cmd/s3ocr ocr testdata/hello.png
`, stack.Dev.Issuer, stack.APIURL, stack.APIURL)
	}
	fmt.Printf(`
Events given up on wait in the dead-letter queue; send them back with
  AWS_ENDPOINT_URL_SQS=%s AWS_ENDPOINT_URL_LAMBDA=%s AWS_REGION=%s \
  AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s DLQ_URL=%s make redrive
`, stack.SQSEndpoint, stack.LambdaEndpoint, stack.Env["AWS_REGION"], stack.Env["AWS_ACCESS_KEY_ID"], stack.Env["AWS_SECRET_ACCESS_KEY"], stack.DeadLetterQueueURL)
	path := *envVars
	if path == "" {
		path = filepath.Join(stack.Dir, "sam-env.json")
	}
	if err := writeSAMEnv(path, stack); err != nil {
		fmt.Fprintln(os.Stderr, "s3ocr-dev:", err)
	} else {
		fmt.Printf(`
With SAM and Docker, the built functions run against this stack:
  sam build && sam local invoke ProcessFunction -e events/s3-put.json \
    --env-vars %s --docker-network host
`, path)
	}
	fmt.Println("\nCtrl-C stops everything.")
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "\nstopping…")
}

// writeSAMEnv writes each function's environment in the form of `sam local
// invoke --env-vars`: one object per function's logical id. The process
// function keeps the template's TESSDATA_PREFIX, which points into its
// layer, as sam local mounts it.
func writeSAMEnv(path string, stack *localstack.Stack) error {
	vars := map[string]map[string]string{}
	for name := range stack.Wiring.Functions {
		env := stack.FunctionEnv(name)
		if v, ok := stack.Wiring.Functions[name].Env["TESSDATA_PREFIX"]; ok {
			env["TESSDATA_PREFIX"] = v
		}
		vars[name] = env
	}
	b, err := json.MarshalIndent(vars, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
