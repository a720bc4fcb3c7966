// Package app builds each function's handler from its configuration and an
// AWS config. The Lambda mains, the local stack and the end-to-end tests all
// build them here, so they run the same code with the same settings.
package app

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/s3ocr/s3ocr/internal/config"
	"github.com/s3ocr/s3ocr/internal/dynamostore"
	"github.com/s3ocr/s3ocr/internal/handler"
	"github.com/s3ocr/s3ocr/internal/metrics"
	"github.com/s3ocr/s3ocr/internal/s3store"
	"github.com/s3ocr/s3ocr/internal/service"
	"github.com/s3ocr/s3ocr/internal/tesseract"
)

// Logger returns the JSON logger every function writes to stdout (CloudWatch
// Logs keeps one line per record).
func Logger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// UploadAPI builds the upload function's handler.
func UploadAPI(awsCfg aws.Config, get config.Getenv) (*handler.API, error) {
	cfg, err := config.LoadUpload(get)
	if err != nil {
		return nil, err
	}
	log := Logger(os.Stdout, cfg.LogLevel).With("function", "upload")
	return &handler.API{Log: log, Uploads: &service.Uploads{
		Store:         dynamostore.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, time.Now),
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
	log := Logger(os.Stdout, cfg.LogLevel).With("function", "status")
	return &handler.API{Log: log, Status: &service.Status{
		Store:      dynamostore.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, time.Now),
		Objects:    s3store.New(s3store.NewClient(awsCfg), cfg.BucketName),
		Log:        log,
		Now:        time.Now,
		StuckAfter: cfg.StuckAfter,
	}}, nil
}

// Process builds the process function's handler with a warm OCR engine. The
// engine is created once per container and reused by every invocation.
func Process(awsCfg aws.Config, get config.Getenv) (*handler.S3, error) {
	cfg, err := config.LoadProcess(get)
	if err != nil {
		return nil, err
	}
	log := Logger(os.Stdout, cfg.LogLevel).With("function", "process")
	engine, err := tesseract.New(tesseract.Config{TessdataPrefix: cfg.TessdataPrefix})
	if err != nil {
		return nil, fmt.Errorf("OCR engine: %w", err)
	}
	return &handler.S3{Log: log, Processor: &service.Processor{
		Store:        dynamostore.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, time.Now),
		Objects:      s3store.New(s3store.NewClient(awsCfg), cfg.BucketName),
		Engine:       engine,
		Log:          log,
		Now:          time.Now,
		MaxBytes:     cfg.MaxBytes,
		MaxPixels:    cfg.MaxPixels,
		ResultTTL:    cfg.ResultTTL,
		Lease:        cfg.ClaimLease,
		UploadPrefix: cfg.UploadPrefix,
		ResultPrefix: cfg.ResultPrefix,
		InlineLimit:  cfg.InlineResult,
		PageBudget:   cfg.PageBudget,
		Observer:     &metrics.EMF{W: os.Stdout, Function: "process", Now: time.Now},
	}}, nil
}
