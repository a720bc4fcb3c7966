// Command s3ocr reads documents through an s3ocr API from the command line:
//
//	s3ocr ocr scan.png invoice.pdf --lang eng,deu --format json
//	s3ocr ocr scan.png --format pdf --redact email,iban   # writes scan.png.pdf
//	s3ocr delete UPLOAD_ID
//
// See internal/cli for the commands and flags.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/s3ocr/s3ocr/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv, cli.IsTerminal(os.Stderr))
	stop()
	os.Exit(code)
}
