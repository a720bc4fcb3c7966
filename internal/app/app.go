// Package app builds each function's handler from its configuration and an
// AWS config. The Lambda mains, the local stack and the end-to-end tests all
// build them here, so they run the same code with the same settings.
//
// The process function is built by package processapp: it links Tesseract
// through cgo, and the upload and status functions must build without cgo.
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/s3ocr/s3ocr/internal/buildinfo"
	"github.com/s3ocr/s3ocr/internal/config"
	"github.com/s3ocr/s3ocr/internal/dynamostore"
	"github.com/s3ocr/s3ocr/internal/handler"
	"github.com/s3ocr/s3ocr/internal/jwtauth"
	"github.com/s3ocr/s3ocr/internal/logid"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/resultstore"
	"github.com/s3ocr/s3ocr/internal/s3store"
	"github.com/s3ocr/s3ocr/internal/service"
	"github.com/s3ocr/s3ocr/web"
)

// Logger returns the JSON logger every function writes to stdout (CloudWatch
// Logs keeps one line per record), at c.LogLevel. Upload ids never reach the
// output: each is written as its keyed hash under c.LogHashKey (logid).
func Logger(w io.Writer, c config.Common) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(c.LogLevel))); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(logid.NewHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}), c.LogHashKey))
}

// UploadAPI builds the upload function's handler.
func UploadAPI(awsCfg aws.Config, get config.Getenv) (*handler.API, error) {
	cfg, err := config.LoadUpload(get)
	if err != nil {
		return nil, err
	}
	log := Logger(os.Stdout, cfg.Common).With("function", "upload")
	store := dynamostore.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, time.Now)
	return &handler.API{Log: log, Auth: Auth(cfg.Auth), Uploads: &service.Uploads{
		Store:         store,
		Quota:         Quota(store, cfg.Quotas, cfg.Common),
		Presigner:     s3store.New(s3store.NewClient(awsCfg), cfg.BucketName),
		Log:           log,
		Languages:     cfg.Languages,
		MaxBytes:      cfg.MaxBytes,
		PresignExpiry: cfg.PresignExpiry,
		UploadTTL:     cfg.UploadTTL,
		UploadPrefix:  cfg.UploadPrefix,
		Now:           time.Now,
	}}, nil
}

// StatusAPI builds the status function's handler.
func StatusAPI(awsCfg aws.Config, get config.Getenv) (*handler.API, error) {
	cfg, err := config.LoadStatus(get)
	if err != nil {
		return nil, err
	}
	log := Logger(os.Stdout, cfg.Common).With("function", "status")
	info := &service.Info{
		Service: "s3ocr", Version: buildinfo.Version,
		Engine:    ocr.EngineInfo{Name: "tesseract", Version: buildinfo.Tesseract},
		Languages: service.InfoLanguages(cfg.Languages), ContentTypes: service.ContentTypes,
		Limits: service.Limits{
			MaxUploadBytes: cfg.MaxBytes, MaxPixelsPerPage: cfg.MaxPixels, MaxPages: cfg.MaxPages, MaxLanguages: service.MaxLanguages,
			MaxFilenameBytes: service.MaxFilenameBytes, PresignExpirySeconds: int(cfg.PresignExpiry.Seconds()),
		},
	}
	objects := s3store.New(s3store.NewClient(awsCfg), cfg.BucketName)
	table := dynamostore.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, time.Now)
	bucketOrigin, err := objects.Origin(context.Background())
	if err != nil {
		return nil, fmt.Errorf("the bucket's origin, for the page's Content-Security-Policy: %w", err)
	}
	page := &handler.Page{Files: web.FS, APIOrigins: cfg.PageAPIOrigins, BucketOrigin: bucketOrigin}
	return &handler.API{Log: log, Info: info, Page: page, Auth: Auth(cfg.Auth), Quota: Quota(table, cfg.Quotas, cfg.Common), Large: &s3store.Responses{Store: objects, Prefix: cfg.ResponsePrefix, TTL: 5 * time.Minute}, Status: &service.Status{
		Store:        Results(table, objects, cfg.Common, 0),
		PartialPages: &resultstore.Pages{Objects: objects, Prefix: cfg.ResultPrefix},
		Originals:    objects, UploadPrefix: cfg.UploadPrefix, MaxBytes: cfg.MaxBytes, KeepUploads: cfg.KeepUploads,
		Log:        log,
		Now:        time.Now,
		StuckAfter: cfg.StuckAfter,
	}}, nil
}

// Auth is the handler's view of the deployment's JWT authorizer; nil when
// the API is open.
func Auth(a config.Auth) *handler.Auth {
	if !a.On() {
		return nil
	}
	return &handler.Auth{Issuer: a.Issuer, Audience: []string{a.Audience}, Verifier: jwtauth.New()}
}

// Quota is the per-caller quota kept in the table; nil when no limit is
// set. Callers of an open API are counted by a hash of their address keyed
// like the logs' hashes.
func Quota(counters ocr.Quotas, q config.Quotas, c config.Common) *service.Quota {
	limits := ocr.Usage{Uploads: q.Uploads, Bytes: q.Bytes, Pages: q.Pages}
	if limits == (ocr.Usage{}) {
		return nil
	}
	return &service.Quota{Counters: counters, Limits: limits, HashKey: c.LogHashKey}
}

// Results is the store every function reads and writes results through:
// the table, with results whose JSON is over inlineLimit bytes kept as
// objects under the result prefix.
func Results(table ocr.Store, objects ocr.Objects, cfg config.Common, inlineLimit int) ocr.Store {
	return &resultstore.Store{Store: table, Objects: objects, Prefix: cfg.ResultPrefix, InlineLimit: inlineLimit}
}

// SetMemoryLimit sets the Go runtime's soft memory limit (GOMEMLIMIT) to
// share of the function's memory size, which Lambda gives in
// AWS_LAMBDA_FUNCTION_MEMORY_SIZE (MB), so the collector works harder as the
// heap nears what the function has instead of letting Lambda kill it. A
// GOMEMLIMIT in the environment wins. It returns the limit set, 0 for none.
//
// The process function leaves room outside the Go heap: Tesseract's and
// Leptonica's C heap (about 100 MB for an A4 page) is not Go's to count.
func SetMemoryLimit(get config.Getenv, share float64) int64 {
	if get("GOMEMLIMIT") != "" {
		return 0
	}
	mb, err := strconv.ParseInt(get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), 10, 64)
	if err != nil || mb <= 0 || share <= 0 || share > 1 {
		return 0
	}
	limit := int64(float64(mb<<20) * share)
	debug.SetMemoryLimit(limit)
	return limit
}
