// Command process is the Lambda function S3 invokes for each uploaded
// object: it reads the document with Tesseract and stores the result.
//
// OMP_THREAD_LIMIT=1 must be set in the function's environment (template.yaml
// does): libgomp reads it before main runs, and without it Tesseract is
// several times slower on Lambda's one or two vCPUs.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/s3ocr/s3ocr/internal/app"
	"github.com/s3ocr/s3ocr/internal/app/processapp"
	"github.com/s3ocr/s3ocr/internal/config"
)

func main() {
	app.SetMemoryLimit(config.FromOS, 0.6)
	awsCfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatalf("AWS config: %v", err)
	}
	h, err := processapp.New(awsCfg, config.FromOS)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h.Invoke)
}
