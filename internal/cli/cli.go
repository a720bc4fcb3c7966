// Package cli is the s3ocr command line: `s3ocr ocr FILE…` uploads files
// through the API, shows their progress, waits for them and prints what was
// read; `s3ocr info` prints what the API reads and its limits.
package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/s3ocr/s3ocr/internal/client"
	"github.com/s3ocr/s3ocr/internal/imaging"
	"github.com/s3ocr/s3ocr/internal/service"
)

const usage = `usage:
  s3ocr ocr FILE… [--api URL] [--lang eng,deu] [--format text|json|hocr] [--wait 5m]
  s3ocr info [--api URL]

--api defaults to $S3OCR_API, else http://127.0.0.1:8080 (make dev).
Exit status: 0 when every file was read, 1 when any failed, 2 for usage errors.
`

// concurrency bounds the files in flight at once.
const concurrency = 4

// Run runs the command with args (without the program name) and returns its
// exit status. Terminal is whether stderr is a terminal (progress bars) or
// not (progress lines).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, terminal bool) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("s3ocr "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	api := fs.String("api", "", "API base URL")
	langs := fs.String("lang", "eng", "comma-separated Tesseract languages")
	format := fs.String("format", "text", "text, json or hocr")
	wait := fs.Duration("wait", 5*time.Minute, "how long to wait for results")
	// Flags may come before or after the files.
	var files []string
	rest := args[1:]
	for {
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		files, rest = append(files, rest[0]), rest[1:]
	}
	base := *api
	if base == "" {
		base = getenv("S3OCR_API")
	}
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	c := client.New(base, &http.Client{Timeout: 2 * time.Minute})
	switch args[0] {
	case "info":
		info, err := c.Info(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "s3ocr:", err)
			return 1
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(info)
		return 0
	case "ocr":
	default:
		fmt.Fprintf(stderr, "s3ocr: unknown command %q\n%s", args[0], usage)
		return 2
	}
	if len(files) == 0 || (*format != "text" && *format != "json" && *format != "hocr") {
		fmt.Fprint(stderr, usage)
		return 2
	}
	prog := newProgress(stderr, files, terminal)
	results := make([]outcome, len(files))
	var wg sync.WaitGroup
	sem := make(chan struct{}, concurrency)
	for i, f := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = ocrFile(ctx, c, f, strings.Split(*langs, ","), *format, *wait, func(s string) { prog.set(i, s) })
		}()
	}
	wg.Wait()
	return report(stdout, stderr, files, results, *format)
}

type outcome struct {
	status *service.UploadStatus
	hocr   []byte
	err    error
}

func ocrFile(ctx context.Context, c *client.Client, path string, langs []string, format string, wait time.Duration, show func(string)) outcome {
	content, err := os.ReadFile(path)
	if err != nil {
		return outcome{err: err}
	}
	ct := imaging.Sniff(content)
	if ct == "" {
		ct = "application/octet-stream" // the API says why it does not read it
	}
	show("asking for an upload")
	up, err := c.CreateUpload(ctx, service.CreateUploadRequest{Filename: filepath.Base(path), ContentType: ct, Size: int64(len(content)), Languages: langs})
	if err != nil {
		return outcome{err: err}
	}
	err = c.Upload(ctx, up, filepath.Base(path), strings.NewReader(string(content)), func(sent, total int64) {
		show(fmt.Sprintf("uploading %s", bar(sent, total)))
	})
	if err != nil {
		return outcome{err: err}
	}
	show("waiting")
	st, err := c.Wait(ctx, up.UploadID, wait, func(st *service.UploadStatus) {
		if st.Progress != nil {
			show(fmt.Sprintf("reading page %d of %d", st.Progress.PagesDone+1, st.Progress.Pages))
		} else {
			show(string(st.Status))
		}
	})
	if err != nil {
		return outcome{err: err}
	}
	if st.Status == "failed" {
		return outcome{status: st, err: fmt.Errorf("%s: %s", st.Error.Code, st.Error.Message)}
	}
	show("done")
	o := outcome{status: st}
	if format == "hocr" {
		o.hocr, o.err = c.HOCR(ctx, up.UploadID)
	}
	return o
}

func report(stdout, stderr io.Writer, files []string, results []outcome, format string) int {
	failed := 0
	var statuses []*service.UploadStatus
	for i, r := range results {
		if r.err != nil {
			failed++
			fmt.Fprintf(stderr, "%s: %v\n", files[i], r.err)
			if r.status != nil {
				statuses = append(statuses, r.status)
			}
			continue
		}
		statuses = append(statuses, r.status)
		switch format {
		case "text":
			if len(files) > 1 {
				fmt.Fprintf(stdout, "==> %s <==\n", files[i])
			}
			// Pages are separated by form feeds; one on a line of its own
			// reads better and still splits with `csplit` or `awk`.
			fmt.Fprintln(stdout, strings.ReplaceAll(strings.TrimRight(r.status.Result.Text, "\n"), "\f", "\n\f"))
		case "hocr":
			stdout.Write(r.hocr)
		}
	}
	if format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if len(files) == 1 && len(statuses) == 1 {
			enc.Encode(statuses[0])
		} else {
			enc.Encode(statuses)
		}
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// IsTerminal reports whether f is a terminal (a character device), without
// a dependency for one system call's worth of question.
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
