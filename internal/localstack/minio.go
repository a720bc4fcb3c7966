package localstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3ocr/s3ocr/internal/s3store"
)

// MinIOVersion is the MinIO module version `make tools` installs. MinIO is
// AGPL: it runs as a separate server and is never imported.
const MinIOVersion = "v0.0.0-20260212201848-7aac2a2c5b7c"

// Defaults for MinIOOptions. MinIO wants a secret of at least 8 characters.
const (
	DefaultMinIOAccessKey = "s3ocr-local"
	DefaultMinIOSecretKey = "s3ocr-local-secret"
	DefaultMinIORegion    = "us-east-1"
)

// MinIOPath returns the MinIO binary to run: $S3OCR_MINIO_BIN if set, else
// ${XDG_CACHE_HOME:-$HOME/.cache}/s3ocr/minio-<MinIOVersion>/minio, where
// scripts/install-tools puts it. The error wraps ErrToolMissing when there is
// no executable file there.
func MinIOPath() (string, error) {
	path := os.Getenv("S3OCR_MINIO_BIN")
	if path == "" {
		// Spelled out rather than os.UserCacheDir, which differs on macOS,
		// so that this and the shell installer agree everywhere.
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("MinIO: no cache directory (%v): %w", err, ErrToolMissing)
			}
			cache = filepath.Join(home, ".cache")
		}
		path = filepath.Join(cache, "s3ocr", "minio-"+MinIOVersion, "minio")
	}
	fi, err := os.Stat(path)
	if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("MinIO %s: %w", path, ErrToolMissing)
	}
	return path, nil
}

// MinIOOptions configure a MinIO server. The zero value works: a temporary
// directory, a free port, the default credentials and region, no webhooks.
type MinIOOptions struct {
	Dir       string // data under Dir/data, log in Dir/minio.log; a temporary directory removed by Stop when ""
	Addr      string // 127.0.0.1:port to listen on; a free port when ""
	AccessKey string // default DefaultMinIOAccessKey
	SecretKey string // default DefaultMinIOSecretKey, at least 8 characters
	// Region is the server's region (default DefaultMinIORegion). Requests
	// must be signed for it, and events carry it as awsRegion, which MinIO
	// leaves empty unless a region is set.
	Region string
	// Webhooks maps a webhook target id (letters, digits, underscores) to
	// the URL MinIO POSTs bucket notifications to. Pass WebhookARN(id) to
	// ConfigureBucket to route a bucket's events to it. The endpoint should
	// already listen: MinIO starts without it, but drops events it cannot
	// deliver.
	Webhooks map[string]string
	// CORSAllowOrigin is a comma-separated list of origins allowed to call
	// the S3 API from a browser; MinIO's default is "*". MinIO answers
	// NotImplemented to PutBucketCors, so CORS is server-wide.
	CORSAllowOrigin string
}

// MinIO is a running MinIO server. Stop ends it.
type MinIO struct {
	*Server
	Endpoint  string // http://127.0.0.1:port, for AWS_ENDPOINT_URL_S3
	AccessKey string
	SecretKey string
	Region    string

	tempDir string // removed by Stop
}

var webhookID = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// StartMinIO starts a single-drive MinIO server on loopback and returns once
// its S3 API answers. The error wraps ErrToolMissing when MinIO is not
// installed.
func StartMinIO(ctx context.Context, opts MinIOOptions) (_ *MinIO, err error) {
	path, err := MinIOPath()
	if err != nil {
		return nil, err
	}
	m := &MinIO{AccessKey: opts.AccessKey, SecretKey: opts.SecretKey, Region: opts.Region}
	if m.AccessKey == "" {
		m.AccessKey = DefaultMinIOAccessKey
	}
	if m.SecretKey == "" {
		m.SecretKey = DefaultMinIOSecretKey
	}
	if m.Region == "" {
		m.Region = DefaultMinIORegion
	}
	if len(m.SecretKey) < 8 {
		return nil, errors.New("MinIO secret key must have at least 8 characters")
	}
	env := []string{
		"MINIO_ROOT_USER=" + m.AccessKey,
		"MINIO_ROOT_PASSWORD=" + m.SecretKey,
		"MINIO_SITE_REGION=" + m.Region,
		// No web console: one port fewer, and it serves nothing we use.
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		// Without this the S3 API answers before the notification targets
		// and the buckets' notification rules are loaded, and events of the
		// first writes are silently dropped. With it, S3 requests wait
		// until they are loaded (cmd/server-main.go, freezeServices).
		"MINIO_SYNC_BOOT=on",
	}
	if opts.CORSAllowOrigin != "" {
		env = append(env, "MINIO_API_CORS_ALLOW_ORIGIN="+opts.CORSAllowOrigin)
	}
	ids := make([]string, 0, len(opts.Webhooks))
	for id := range opts.Webhooks {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if !webhookID.MatchString(id) {
			return nil, fmt.Errorf("MinIO webhook id %q: want letters, digits and underscores only", id)
		}
		u, err := url.Parse(opts.Webhooks[id])
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("MinIO webhook %s: endpoint %q is not an http(s) URL", id, opts.Webhooks[id])
		}
		env = append(env,
			"MINIO_NOTIFY_WEBHOOK_ENABLE_"+id+"=on",
			"MINIO_NOTIFY_WEBHOOK_ENDPOINT_"+id+"="+opts.Webhooks[id])
	}

	dir := opts.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "s3ocr-minio-"); err != nil {
			return nil, err
		}
		m.tempDir = dir
		defer func() {
			if err != nil {
				os.RemoveAll(dir)
			}
		}()
	}

	// A free port can be taken between FreeAddr and MinIO's bind; when we
	// chose it, choose again.
	for attempt := 1; ; attempt++ {
		addr := opts.Addr
		if addr == "" {
			if addr, err = FreeAddr(); err != nil {
				return nil, err
			}
		}
		// --certs-dir keeps MinIO out of $HOME/.minio.
		m.Server, err = startServer("minio", addr, dir, env, path, "server", "--quiet",
			"--address", addr, "--certs-dir", filepath.Join(dir, "certs"), filepath.Join(dir, "data"))
		if err != nil {
			return nil, err
		}
		m.Endpoint = "http://" + addr
		err = m.waitReady(ctx)
		if err == nil {
			return m, nil
		}
		m.Server.Stop()
		if opts.Addr != "" || attempt == 3 || !strings.Contains(m.Tail(50), "address already in use") {
			return nil, err
		}
	}
}

// waitReady waits until /minio/health/ready answers 200 without marking the
// server unavailable, and then until an S3 request gets an answer: with
// MINIO_SYNC_BOOT the health check answers while S3 requests still wait for
// the notification subsystem.
func (m *MinIO) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	get := func(path string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.Endpoint+path, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		return resp, nil
	}
	healthy := false
	for {
		if !healthy {
			resp, err := get("/minio/health/ready")
			healthy = err == nil && resp.StatusCode == http.StatusOK && resp.Header.Get("X-Minio-Server-Status") != "offline"
		}
		if healthy {
			// An anonymous ListBuckets: 403 once the API serves.
			resp, err := get("/")
			if err == nil && resp.StatusCode < 500 {
				return nil
			}
		}
		select {
		case <-m.done:
			return fmt.Errorf("MinIO exited before it was ready (%v); its log %s ends:\n%s", m.err, m.Log, m.Tail(20))
		case <-ctx.Done():
			return fmt.Errorf("MinIO not ready at %s: %w; its log %s ends:\n%s", m.Endpoint, ctx.Err(), m.Log, m.Tail(20))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop ends the server and removes its directory if StartMinIO made it.
func (m *MinIO) Stop() error {
	err := m.Server.Stop()
	if m.tempDir != "" {
		os.RemoveAll(m.tempDir)
	}
	return err
}

// WebhookARN returns the queue ARN that routes a bucket's notifications to
// the webhook configured as MinIOOptions.Webhooks[id].
func (m *MinIO) WebhookARN(id string) string {
	return "arn:minio:sqs::" + id + ":webhook"
}

// NewS3Client returns an S3 client for m built the way the functions build
// theirs (config.LoadDefaultConfig, then s3store.NewClient), with the
// region, credentials and endpoint given explicitly instead of through
// AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_ENDPOINT_URL_S3, so that tests need not change the process's
// environment. Signing, checksums and retries are the SDK's defaults.
func NewS3Client(ctx context.Context, m *MinIO) (*s3.Client, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithRegion(m.Region),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(m.AccessKey, m.SecretKey, "")),
		// A developer's ~/.aws files must not change how tests talk to MinIO.
		awsconfig.WithSharedConfigFiles([]string{}),
		awsconfig.WithSharedCredentialsFiles([]string{}),
	)
	if err != nil {
		return nil, fmt.Errorf("AWS config for MinIO: %w", err)
	}
	// Set on the client rather than the config so that a stray
	// AWS_ENDPOINT_URL_S3 in the environment cannot point it elsewhere.
	return s3store.NewClient(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(m.Endpoint) }), nil
}

// ConfigureBucket makes bucket ready as template.yaml makes it in AWS: it
// creates the bucket if it does not exist and sends every ObjectCreated event
// for keys under prefix (all keys when prefix is "") to the queue or webhook
// webhookARN, replacing the bucket's notification configuration. It is safe
// to call again.
func ConfigureBucket(ctx context.Context, c *s3.Client, bucket, prefix, webhookARN string) error {
	in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
	if region := c.Options().Region; region != "" && region != "us-east-1" {
		// S3 wants the region named for any region but its first.
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(region)}
	}
	if _, err := c.CreateBucket(ctx, in); err != nil {
		var owned *types.BucketAlreadyOwnedByYou
		if !errors.As(err, &owned) {
			return fmt.Errorf("create bucket %s: %w", bucket, err)
		}
	}
	queue := types.QueueConfiguration{
		Id:       aws.String("s3ocr-object-created"),
		QueueArn: aws.String(webhookARN),
		Events:   []types.Event{types.EventS3ObjectCreated},
	}
	if prefix != "" {
		queue.Filter = &types.NotificationConfigurationFilter{Key: &types.S3KeyFilter{
			FilterRules: []types.FilterRule{{Name: types.FilterRuleNamePrefix, Value: aws.String(prefix)}},
		}}
	}
	if _, err := c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket:                    aws.String(bucket),
		NotificationConfiguration: &types.NotificationConfiguration{QueueConfigurations: []types.QueueConfiguration{queue}},
	}); err != nil {
		return fmt.Errorf("notifications of bucket %s to %s: %w", bucket, webhookARN, err)
	}
	return nil
}
