package localstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// DynalitePath returns the dynalite executable: $S3OCR_DYNALITE_BIN, or the
// one `npm ci` installs in the module's node_modules (package-lock.json pins
// its version).
func DynalitePath() (string, error) {
	if p := os.Getenv("S3OCR_DYNALITE_BIN"); p != "" {
		return p, nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, "node_modules", ".bin", "dynalite")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("dynalite at %s: %w", p, ErrToolMissing)
	}
	return p, nil
}

// DynaliteOptions configure StartDynalite.
type DynaliteOptions struct {
	Dir  string // for its log
	Addr string // 127.0.0.1:port; a free port when ""
}

// Dynalite is a running dynalite, a DynamoDB-compatible server kept in
// memory.
type Dynalite struct {
	*Server
	Endpoint string // http://127.0.0.1:port
}

// StartDynalite starts dynalite on loopback and returns once it answers a
// real ListTables request.
func StartDynalite(ctx context.Context, opts DynaliteOptions) (*Dynalite, error) {
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
		return nil, err
	}
	dir := opts.Dir
	if dir == "" {
		dir = os.TempDir()
	}
	// Tables stay CREATING for 500 ms by default; 50 keeps the wait real but
	// short. Without --path, data lives in memory.
	srv, err := startServer("dynalite", addr, dir, nil, path, "--host", host, "--port", port, "--createTableMs", "50", "--deleteTableMs", "50", "--updateTableMs", "50")
	if err != nil {
		return nil, err
	}
	d := &Dynalite{Server: srv, Endpoint: "http://" + addr}
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
		if _, err = c.ListTables(ctx, &dynamodb.ListTablesInput{}); err == nil {
			return d, nil
		}
		select {
		case <-srv.Exited():
			return nil, fmt.Errorf("dynalite exited: %s", srv.Tail(20))
		case <-ctx.Done():
			srv.Stop()
			return nil, errors.Join(fmt.Errorf("dynalite at %s does not answer ListTables", d.Endpoint), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// NewDynamoClient returns a DynamoDB client for a local server, built as
// production builds one (config.LoadDefaultConfig) but with the endpoint,
// region and credentials given here, so that a developer's ~/.aws files or
// AWS_* variables cannot point a test elsewhere.
func NewDynamoClient(ctx context.Context, endpoint string) (*dynamodb.Client, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithRegion("us-east-1"),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("s3ocr-local", "s3ocr-local-secret", "")),
		awsconfig.WithSharedConfigFiles([]string{}),
		awsconfig.WithSharedCredentialsFiles([]string{}),
	)
	if err != nil {
		return nil, fmt.Errorf("AWS config for dynalite: %w", err)
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) }), nil
}
