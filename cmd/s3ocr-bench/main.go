// Command s3ocr-bench is make bench: it runs the benchmarks of
// internal/bench (OCR per page against the tesseract command line, thread
// settings, duplicate content, status, memory, cost) and, for the deployed
// artifacts, of internal/portable (the static bootstrap per page, cold
// start), prints the table and writes BENCHMARKS.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"

	"github.com/s3ocr/s3ocr/internal/bench"
)

func main() {
	out := flag.String("out", "BENCHMARKS.md", "where to write the report, relative to the repository; \"\" for nowhere")
	goCmd := flag.String("go", "go", "the go command")
	only := flag.String("only", "", "run only the runs whose names match this regexp (ocr, deployed, store, memory, threads-…)")
	quick := flag.Bool("quick", false, "one iteration each: checks that everything runs, figures not worth keeping")
	flag.Parse()
	if err := run(*out, *goCmd, *only, *quick); err != nil {
		fmt.Fprintln(os.Stderr, "s3ocr-bench:", err)
		os.Exit(1)
	}
}

func run(out, goCmd, only string, quick bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	root, err := bench.ModuleRoot(goCmd)
	if err != nil {
		return err
	}
	tmpl, err := bench.ReadTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		return err
	}
	opts := bench.Options{Root: root, Go: goCmd, Quick: quick, Log: os.Stderr}
	if only != "" {
		if opts.Only, err = regexp.Compile(only); err != nil {
			return err
		}
	}
	res, err := bench.Execute(ctx, opts)
	if err != nil {
		return err
	}
	tmpl.Path = "template.yaml"
	md, table := bench.Report(res, bench.Facts{Template: tmpl, Command: "make bench"})
	fmt.Print(table)
	if out == "" {
		return nil
	}
	if !filepath.IsAbs(out) {
		out = filepath.Join(root, out)
	}
	if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "s3ocr-bench: wrote %s (%s)\n", out, res.Elapsed.Round(1e9))
	return nil
}
