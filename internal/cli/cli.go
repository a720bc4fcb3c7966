// Package cli is the s3ocr command line: `s3ocr ocr FILE…` uploads files
// through the API, shows their progress, waits for them and prints what was
// read, or writes a searchable PDF or ALTO XML next to each file;
// `s3ocr delete ID…` erases uploads; `s3ocr info` prints what the API reads
// and its limits.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/s3ocr/s3ocr/internal/client"
	"github.com/s3ocr/s3ocr/internal/imaging"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/redact"
	"github.com/s3ocr/s3ocr/internal/service"
)

const usage = `usage:
  s3ocr ocr FILE… [--api URL] [--token JWT] [--lang eng,deu] [--format text|json|hocr|pdf|alto]
                  [--redact email,iban,…] [--out DIR] [--force] [--wait 5m]
  s3ocr delete UPLOAD_ID…   (or rm) [--api URL] [--token JWT]
  s3ocr info [--api URL] [--token JWT]

--format text, json and hocr print to stdout; pdf and alto write one file
per input, named after it: scan.png gives scan.png.pdf or scan.png.alto.xml,
next to it or in --out DIR, and their paths are printed. An existing output
is refused unless --force.
--redact masks the entities of those types (%s)
in every format, and burns them out of the PDF.
--api defaults to $S3OCR_API, else http://127.0.0.1:8080 (make dev).
--token defaults to $S3OCR_TOKEN: the JWT an API with an authorizer wants,
sent to the API only (never to S3).
Exit status: 0 when every file was read, 1 when any failed, 2 for usage errors.
`

// formats maps each --format to what the API is asked for (?format=) and,
// for the formats written to files, the suffix appended to the input's
// name. Appending keeps the input's extension, so the output never has the
// input's name and scan.png and scan.jpg do not write the same file.
var formats = map[string]struct{ query, suffix string }{
	"text": {"txt", ""},
	"json": {"json", ""},
	"hocr": {"hocr", ""},
	"pdf":  {"pdf", ".pdf"},
	"alto": {"alto", ".alto.xml"},
}

// concurrency bounds the files in flight at once.
const concurrency = 4

// options are the ocr command's choices, the same for every file.
type options struct {
	langs  []string
	format string
	redact []string // entity types to mask; none when empty
	wait   time.Duration
	force  bool // overwrite existing outputs
}

// Run runs the command with args (without the program name) and returns its
// exit status. Terminal is whether stderr is a terminal (progress bars) or
// not (progress lines).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, terminal bool) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, usage, strings.Join(redact.Types(), ", "))
		return 2
	}
	fs := flag.NewFlagSet("s3ocr "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	api := fs.String("api", "", "API base URL")
	token := fs.String("token", "", "JWT for an API with an authorizer (default $S3OCR_TOKEN)")
	langs := fs.String("lang", "eng", "comma-separated Tesseract languages")
	format := fs.String("format", "text", "text, json, hocr (printed) or pdf, alto (written to files)")
	redactList := fs.String("redact", "", "comma-separated entity types to mask: "+strings.Join(redact.Types(), ", "))
	outDir := fs.String("out", "", "directory for pdf and alto outputs (default: next to each input)")
	force := fs.Bool("force", false, "overwrite existing pdf and alto outputs")
	wait := fs.Duration("wait", 5*time.Minute, "how long to wait for results")
	// Flags may come before or after the operands.
	var operands []string
	rest := args[1:]
	for {
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		operands, rest = append(operands, rest[0]), rest[1:]
	}
	base := *api
	if base == "" {
		base = getenv("S3OCR_API")
	}
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	c := client.New(base, &http.Client{Timeout: 2 * time.Minute})
	if c.Token = *token; c.Token == "" {
		c.Token = getenv("S3OCR_TOKEN")
	}
	switch args[0] {
	case "info":
		info, err := c.Info(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "s3ocr:", explain(c, err))
			return 1
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(info)
		return 0
	case "delete", "rm":
		if len(operands) == 0 {
			return usageError(stderr, "delete needs the ids of the uploads to erase")
		}
		return deleteUploads(ctx, c, operands, stdout, stderr)
	case "ocr":
	default:
		return usageError(stderr, fmt.Sprintf("unknown command %q", args[0]))
	}

	opts := options{langs: strings.Split(*langs, ","), format: *format, wait: *wait, force: *force}
	f, ok := formats[opts.format]
	switch {
	case len(operands) == 0:
		return usageError(stderr, "ocr needs files to read")
	case !ok:
		return usageError(stderr, fmt.Sprintf("--format %q is not one of text, json, hocr, pdf, alto", opts.format))
	case *outDir != "" && f.suffix == "":
		return usageError(stderr, "--out is for the formats written to files, pdf and alto")
	}
	if *redactList != "" {
		opts.redact = strings.Split(*redactList, ",")
		// Checked here, before anything is uploaded, with the API's own rule.
		var bad *ocr.Error
		if err := redact.Check(opts.redact); errors.As(err, &bad) {
			return usageError(stderr, "--redact: "+bad.Message)
		}
	}
	var outputs []string
	if f.suffix != "" {
		var err error
		if outputs, err = outputPaths(operands, *outDir, f.suffix); err != nil {
			return usageError(stderr, err.Error())
		}
		if *outDir != "" {
			if err := os.MkdirAll(*outDir, 0o755); err != nil {
				fmt.Fprintln(stderr, "s3ocr:", err)
				return 1
			}
		}
	}

	prog := newProgress(stderr, operands, terminal)
	results := make([]outcome, len(operands))
	var wg sync.WaitGroup
	sem := make(chan struct{}, concurrency)
	for i, path := range operands {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out := ""
			if outputs != nil {
				out = outputs[i]
			}
			results[i] = ocrFile(ctx, c, path, out, opts, func(s string) { prog.set(i, s) })
			results[i].err = explain(c, results[i].err)
		}()
	}
	wg.Wait()
	return report(stdout, stderr, operands, results, opts.format)
}

// explain says what to do about the API's 401: API Gateway's authorizer
// answers it, in its own words ({"message":"Unauthorized"}), to a request
// without a valid token. Other errors are returned as they are.
func explain(c *client.Client, err error) error {
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || !apiErr.Unauthorized() {
		return err
	}
	if c.Token == "" {
		return fmt.Errorf("the API at %s wants a token: pass --token JWT or set S3OCR_TOKEN (%w)", c.BaseURL, err)
	}
	return fmt.Errorf("the API at %s refused the token, which may have expired or be meant for another API: pass a valid one with --token or S3OCR_TOKEN (%w)", c.BaseURL, err)
}

func usageError(stderr io.Writer, problem string) int {
	fmt.Fprintf(stderr, "s3ocr: %s\n"+usage, problem, strings.Join(redact.Types(), ", "))
	return 2
}

// outputPaths names each input's output: its name with suffix appended, in
// dir or next to it. Two inputs that would write the same output, or an
// output that is one of the inputs, are refused before anything is sent.
func outputPaths(inputs []string, dir, suffix string) ([]string, error) {
	outs := make([]string, len(inputs))
	for i, in := range inputs {
		d := dir
		if d == "" {
			d = filepath.Dir(in)
		}
		outs[i] = filepath.Join(d, filepath.Base(in)+suffix)
		if j := slices.Index(outs[:i], outs[i]); j >= 0 {
			return nil, fmt.Errorf("%s and %s would both be written to %s; use separate --out directories", inputs[j], in, outs[i])
		}
	}
	for i, out := range outs {
		for _, in := range inputs {
			if sameFile(out, in) {
				return nil, fmt.Errorf("the output of %s, %s, is one of the inputs; choose another --out", inputs[i], out)
			}
		}
	}
	return outs, nil
}

// sameFile reports whether a and b name the same file, by their paths or,
// when both exist, by the file system (links, ./ and ../).
func sameFile(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

type outcome struct {
	status  *service.UploadStatus
	hocr    []byte
	written string // the output file, for pdf and alto
	err     error
}

// ocrFile uploads the file at path, waits for it to be read and fetches
// what opts.format asks for; pdf and alto are written to out.
func ocrFile(ctx context.Context, c *client.Client, path, out string, opts options, show func(string)) outcome {
	if out != "" && !opts.force {
		// Refused before the upload, so no work is done for nothing.
		if _, err := os.Lstat(out); err == nil {
			return outcome{err: existsError(out)}
		}
	}
	content, err := os.ReadFile(path)
	if err != nil {
		return outcome{err: err}
	}
	ct := imaging.Sniff(content)
	if ct == "" {
		ct = "application/octet-stream" // the API says why it does not read it
	}
	show("asking for an upload")
	up, err := c.CreateUpload(ctx, service.CreateUploadRequest{Filename: filepath.Base(path), ContentType: ct, Size: int64(len(content)), Languages: opts.langs})
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
	st, err := c.Wait(ctx, up.UploadID, opts.wait, func(st *service.UploadStatus) {
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
	o := outcome{status: st}
	switch {
	case out != "":
		show("writing " + out)
		if o.err = download(ctx, c, up.UploadID, formats[opts.format].query, opts, out); o.err == nil {
			o.written = out
		}
	case opts.format == "hocr":
		var body io.ReadCloser
		if body, o.err = c.Open(ctx, up.UploadID, "hocr", opts.redact); o.err == nil {
			o.hocr, o.err = io.ReadAll(body)
			body.Close()
		}
	case len(opts.redact) > 0:
		o.status, o.err = c.Redacted(ctx, up.UploadID, opts.redact)
	}
	if o.err == nil {
		show("done, upload " + up.UploadID)
	}
	return o
}

func existsError(path string) error {
	return fmt.Errorf("%s already exists; --force overwrites it", path)
}

// download fetches the upload in format into the file at path.
func download(ctx context.Context, c *client.Client, id, format string, opts options, path string) error {
	body, err := c.Open(ctx, id, format, opts.redact)
	if err != nil {
		return err
	}
	defer body.Close()
	return writeFile(path, body, opts.force)
}

// writeFile streams r into the file at path. Without force, an existing
// file is refused at creation (O_EXCL, so a file made since the early check
// is not overwritten either); with force, a temporary file replaces it once
// complete, so a failed download leaves an earlier output whole. A failed
// write leaves no partial file behind.
func writeFile(path string, r io.Reader, force bool) error {
	var f *os.File
	var err error
	if force {
		f, err = os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	} else {
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, os.ErrExist) {
			return existsError(path)
		}
	}
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && force {
		if err = os.Chmod(f.Name(), 0o644); err == nil {
			err = os.Rename(f.Name(), path)
		}
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
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
		case "pdf", "alto":
			fmt.Fprintln(stdout, r.written)
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

// deleteUploads erases each upload, printing the ids erased on stdout and
// the refusals on stderr.
func deleteUploads(ctx context.Context, c *client.Client, ids []string, stdout, stderr io.Writer) int {
	code := 0
	for _, id := range ids {
		err := c.Delete(ctx, id)
		var apiErr *client.APIError
		switch {
		case err == nil:
			fmt.Fprintln(stdout, "deleted", id)
			continue
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound:
			err = fmt.Errorf("no such upload (unknown, expired or already deleted): %w", err)
		default:
			err = explain(c, err)
		}
		fmt.Fprintf(stderr, "%s: %v\n", id, err)
		code = 1
	}
	return code
}

// IsTerminal reports whether f is a terminal (a character device), without
// a dependency for one system call's worth of question.
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
