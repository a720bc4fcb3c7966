package localstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// DynalitePath returns the dynalite executable: $S3OCR_DYNALITE_BIN, or the
// one `npm ci` installs in the module's node_modules (package-lock.json pins
// its version). The error wraps ErrToolMissing when there is none.
func DynalitePath() (string, error) {
	p := os.Getenv("S3OCR_DYNALITE_BIN")
	if p == "" {
		root, err := ModuleRoot()
		if err != nil {
			return "", err
		}
		p = filepath.Join(root, "node_modules", ".bin", "dynalite")
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("dynalite at %s: %w", p, ErrToolMissing)
	}
	return p, nil
}

// DynaliteOptions configure StartDynalite. The zero value works.
type DynaliteOptions struct {
	Dir  string // holds its log, dynalite.log; a new temporary directory, removed by Stop, when ""
	Addr string // 127.0.0.1:port to listen on; a free loopback port when ""
	// DataDir keeps the tables on disk (LevelDB) instead of in memory, so a
	// dynalite stopped and started again on it still has them.
	DataDir string
}

// Dynalite is a running dynalite, a DynamoDB-compatible server that keeps its
// tables in memory.
type Dynalite struct {
	*Server
	Endpoint string // http://127.0.0.1:port, for NewDynamoClient or AWS_ENDPOINT_URL_DYNAMODB

	tempDir string // removed by Stop
}

// StartDynalite starts dynalite on loopback and returns once it answers a
// real ListTables request through the SDK. Call Stop to end it.
func StartDynalite(ctx context.Context, opts DynaliteOptions) (_ *Dynalite, err error) {
	path, err := DynalitePath()
	if err != nil {
		return nil, err
	}
	addr := opts.Addr
	if addr == "" {
		if addr, err = FreeAddr(); err != nil {
			return nil, err
		}
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dynalite address %q: %w", addr, err)
	}
	d := &Dynalite{Endpoint: "http://" + addr}
	dir := opts.Dir
	if dir == "" {
		// A fixed path such as /tmp/dynalite.log would be shared by every
		// test binary running at once.
		if dir, err = os.MkdirTemp("", "s3ocr-dynalite-"); err != nil {
			return nil, err
		}
		d.tempDir = dir
	}
	defer func() {
		if err != nil && d.tempDir != "" {
			os.RemoveAll(d.tempDir)
		}
	}()
	// dynalite listens on every interface unless given --host. Without
	// --path it keeps data in memory. Tables stay CREATING for 500 ms by
	// default; 50 keeps that state (and the callers' wait for ACTIVE) real
	// but short.
	args := []string{"--host", host, "--port", port, "--createTableMs", "50", "--deleteTableMs", "50", "--updateTableMs", "50"}
	if opts.DataDir != "" {
		args = append(args, "--path", opts.DataDir)
	}
	srv, err := startServer("dynalite", addr, dir, nil, path, args...)
	if err != nil {
		return nil, err
	}
	d.Server = srv
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := srv.waitTCP(ctx); err != nil {
		srv.Stop()
		return nil, err
	}
	c, err := NewDynamoClient(ctx, d.Endpoint)
	if err != nil {
		srv.Stop()
		return nil, err
	}
	for {
		// The log line proves that this dynalite holds the port: with a
		// port taken by another server, dynalite exits but the other
		// server could still answer.
		_, err = c.ListTables(ctx, &dynamodb.ListTablesInput{})
		if err == nil && strings.Contains(srv.Tail(100), "Dynalite listening at") {
			return d, nil
		}
		select {
		case <-srv.Exited():
			return nil, fmt.Errorf("dynalite exited before it was ready; its log %s ends:\n%s", srv.Log, srv.Tail(20))
		case <-ctx.Done():
			srv.Stop()
			return nil, errors.Join(fmt.Errorf("dynalite at %s does not answer ListTables; its log %s ends:\n%s", d.Endpoint, srv.Log, srv.Tail(20)), err, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop ends dynalite, losing its tables, and removes the directory
// StartDynalite made when DynaliteOptions.Dir was empty. It is safe to call
// more than once.
func (d *Dynalite) Stop() error {
	err := d.Server.Stop()
	if d.tempDir != "" {
		os.RemoveAll(d.tempDir)
	}
	return err
}

// NewDynamoClient returns a DynamoDB client for a local server at endpoint,
// for tests and the local stack. It is built as production builds one
// (config.LoadDefaultConfig) but with the endpoint as BaseEndpoint, region
// us-east-1 and static test credentials, so that a developer's ~/.aws files
// or AWS_* variables cannot point it at real AWS.
func NewDynamoClient(ctx context.Context, endpoint string) (*dynamodb.Client, error) {
	// Letters and digits only: DynamoDB Local 2.x refuses other access key
	// ids (dynalite checks none).
	creds := credentials.NewStaticCredentialsProvider("S3OCRLOCAL", "s3ocrlocalsecret", "")
	cfg, err := awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithRegion("us-east-1"),
		awsconfig.WithCredentialsProvider(creds),
		awsconfig.WithSharedConfigFiles([]string{}),
		awsconfig.WithSharedCredentialsFiles([]string{}),
	)
	if err != nil {
		return nil, fmt.Errorf("AWS config for the local DynamoDB at %s: %w", endpoint, err)
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) }), nil
}
