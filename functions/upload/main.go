// Command upload is the Lambda function behind POST /uploads: it checks what
// a client wants to send and returns a presigned S3 POST for it.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/s3ocr/s3ocr/internal/app"
	"github.com/s3ocr/s3ocr/internal/config"
)

func main() {
	app.SetMemoryLimit(config.FromOS, 0.9)
	awsCfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatalf("AWS config: %v", err)
	}
	api, err := app.UploadAPI(awsCfg, config.FromOS)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(api.Route)
}
