// Command s3ocr-dev runs the whole s3ocr flow on this machine (`make dev`):
// MinIO as S3, dynalite as DynamoDB, the HTTP API on 127.0.0.1:8080 (PORT to
// change) and bucket notifications delivered to the process function.
// Ctrl-C stops it all.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
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
	fmt.Println("\nCtrl-C stops everything.")
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "\nstopping…")
}
