// Command s3ocr-eval runs the shared corpus through the full local flow and
// prints CER and WER per kind beside the plain-Tesseract baseline (`make
// eval`).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/s3ocr/s3ocr/internal/eval"
	"github.com/s3ocr/s3ocr/internal/localstack"
)

func main() {
	corpus := flag.String("corpus", "../shared/corpus", "the corpus directory (manifest.tsv, baseline.tsv)")
	scorer := flag.String("scorer", "../shared/tools/cer.py", "the corpus's CER/WER script")
	flag.Parse()
	ctx := context.Background()
	// The functions log (and write metrics) to stdout, as in Lambda; the
	// table goes to the real stdout, their lines nowhere.
	table := os.Stdout
	if null, err := os.Open(os.DevNull); err == nil {
		os.Stdout = null
	}
	// The whole corpus from one address: no daily quotas.
	stack, err := localstack.Start(ctx, localstack.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Parameters: localstack.NoQuotas()})
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3ocr-eval:", err)
		os.Exit(1)
	}
	defer stack.Close()
	docs, err := eval.Run(ctx, stack.APIURL, *corpus, *scorer, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3ocr-eval:", err)
		os.Exit(1)
	}
	eval.Table(table, docs)
}
