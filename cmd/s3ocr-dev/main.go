// Command s3ocr-dev runs the whole s3ocr flow on this machine (`make dev`):
// MinIO as S3, dynalite as DynamoDB, the HTTP API on 127.0.0.1:8080 (PORT to
// change) and bucket notifications delivered to the process function.
// Ctrl-C stops it all.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
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
	web := flag.String("web", "web", "directory of the browser page served at /, if it exists")
	origins := flag.String("origins", "", "comma-separated CORS origins (default: the API's own)")
	envVars := flag.String("env-vars", "", "write the functions' environment as sam local invoke --env-vars JSON to this file (default: sam-env.json in the data directory)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	opts := localstack.Options{Dir: *dir, APIAddr: *addr, Log: log}
	if *origins != "" {
		opts.AllowedOrigins = strings.Split(*origins, ",")
	}
	if st, err := os.Stat(*web); err == nil && st.IsDir() {
		opts.Static = http.FileServer(http.Dir(*web))
	}
	start := time.Now()
	stack, err := localstack.Start(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3ocr-dev:", err)
		os.Exit(1)
	}
	defer stack.Close()
	fmt.Printf(`
s3ocr local stack ready in %.1fs

  API        %s   (POST /uploads, GET /uploads/{id})
  S3 (MinIO) %s   bucket %s
  DynamoDB   %s   table %s
  data, logs %s

Try it:
  curl -s -X POST %s/uploads -H 'content-type: application/json' \
    -d '{"filename":"scan.png","contentType":"image/png","size":123456,"languages":["eng"]}'

The functions' environment (for sam local invoke or go run):
`, time.Since(start).Seconds(), stack.APIURL, stack.S3Endpoint, stack.Bucket, stack.DynamoEndpoint, stack.Table, stack.Dir, stack.APIURL)
	for _, k := range []string{"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "TABLE_NAME", "BUCKET_NAME", "TESSDATA_PREFIX", "OCR_LANGUAGES"} {
		fmt.Printf("  export %s=%s\n", k, stack.Env[k])
	}
	path := *envVars
	if path == "" {
		path = filepath.Join(stack.Dir, "sam-env.json")
	}
	if err := writeSAMEnv(path, stack.Env); err != nil {
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

// writeSAMEnv writes the stack's endpoints and settings in the form of
// `sam local invoke --env-vars`: one object per function's logical id. The
// process function keeps the template's TESSDATA_PREFIX, which points into
// its layer.
func writeSAMEnv(path string, env map[string]string) error {
	vars := map[string]map[string]string{}
	for _, fn := range []string{"UploadFunction", "ProcessFunction", "StatusFunction"} {
		m := map[string]string{}
		for k, v := range env {
			if fn == "ProcessFunction" && k == "TESSDATA_PREFIX" {
				continue
			}
			m[k] = v
		}
		vars[fn] = m
	}
	b, err := json.MarshalIndent(vars, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
