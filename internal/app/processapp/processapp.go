// Package processapp builds the process function's handler. It is apart
// from package app because it links Tesseract through cgo.
package processapp

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/s3ocr/s3ocr/internal/app"
	"github.com/s3ocr/s3ocr/internal/config"
	"github.com/s3ocr/s3ocr/internal/document"
	"github.com/s3ocr/s3ocr/internal/dynamostore"
	"github.com/s3ocr/s3ocr/internal/eventbus"
	"github.com/s3ocr/s3ocr/internal/handler"
	"github.com/s3ocr/s3ocr/internal/metrics"
	"github.com/s3ocr/s3ocr/internal/rangequeue"
	"github.com/s3ocr/s3ocr/internal/resultstore"
	"github.com/s3ocr/s3ocr/internal/s3store"
	"github.com/s3ocr/s3ocr/internal/service"
	"github.com/s3ocr/s3ocr/internal/tesseract"
)

// New builds the process function's handler with warm OCR engines, one per
// vCPU. They are created once per container and reused by every invocation.
func New(awsCfg aws.Config, get config.Getenv) (*handler.S3, error) {
	cfg, err := config.LoadProcess(get)
	if err != nil {
		return nil, err
	}
	log := app.Logger(os.Stdout, cfg.Common).With("function", "process")
	// One engine per vCPU: a document's pages are read that many at once.
	engines := cfg.Engines
	if engines == 0 {
		mb, _ := strconv.Atoi(get(config.EnvLambdaMemory)) // 0 outside Lambda
		engines = tesseract.CPUs(mb)
	}
	engine, err := tesseract.NewPool(tesseract.Config{TessdataPrefix: cfg.TessdataPrefix}, engines)
	if err != nil {
		return nil, fmt.Errorf("OCR engine: %w", err)
	}
	objects := s3store.New(s3store.NewClient(awsCfg), cfg.BucketName)
	table := dynamostore.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, time.Now)
	pages := &resultstore.Pages{Objects: objects, Prefix: cfg.ResultPrefix}
	var fanOut *service.FanOut
	if cfg.FanOutPages > 0 && cfg.FunctionName != "" {
		// A long document's ranges are events of this same function.
		fanOut = &service.FanOut{
			Pages: cfg.FanOutPages, RangePages: cfg.RangePages, InFlight: cfg.RangesInFlight, Hold: config.FanOutHold, Progress: table,
			Invoker: &rangequeue.Invoker{Lambda: lambda.NewFromConfig(awsCfg), Function: cfg.FunctionName},
		}
	}
	var notifier service.Notifier
	if cfg.EventBusName != "" {
		notifier = eventbus.New(eventbridge.NewFromConfig(awsCfg), cfg.EventBusName)
	}
	return &handler.S3{Log: log, Exit: func() { os.Exit(1) }, Processor: &service.Processor{
		Store: app.Results(table, objects, cfg.Common, cfg.InlineResult),
		// Results are reused within one owner unless SHARE_RESULTS=all;
		// pages are counted against each upload's caller.
		ShareAcrossOwners: cfg.ShareAcrossOwners,
		Quota:             app.Quota(table, cfg.Quotas, cfg.Common),
		// Each page of a long document is kept as it is read, for
		// GET /uploads/{id}/pages/{n}, until the result is stored; a
		// document read in ranges keeps them as its result.
		PartialPages: pages,
		FanOut:       fanOut,
		Objects:      objects,
		Engine:       engine,
		Log:          log,
		Now:          time.Now,
		MaxBytes:     cfg.MaxBytes,
		Documents:    &document.Reader{MaxPixels: cfg.MaxPixels, MaxPages: cfg.MaxPages},
		ResultTTL:    cfg.ResultTTL,
		Lease:        cfg.ClaimLease,
		UploadPrefix: cfg.UploadPrefix,
		PageBudget:   cfg.PageBudget,
		Concurrency:  engine.Size(),
		Observer:     &metrics.EMF{W: os.Stdout, Function: "process", Now: time.Now},
		// The uploaded file is deleted as each upload finishes, unless
		// KEEP_UPLOADS, before the completion is published.
		Notifier: &service.Retention{Objects: objects, UploadPrefix: cfg.UploadPrefix, Keep: cfg.KeepUploads, Log: log, Next: notifier},
	}}, nil
}
