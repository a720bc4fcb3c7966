// Package eval measures reading quality: it sends every document of the
// shared corpus through the full flow (presign, upload to S3, process,
// status), scores the text with the corpus's own cer.py, and prints CER and
// WER per kind of document beside the plain-Tesseract baseline.
package eval

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/s3ocr/s3ocr/internal/imaging"
	"github.com/s3ocr/s3ocr/internal/service"
)

// caseInsensitiveKinds have ALL-UPPER-CASE ground truth (SROIE), so they
// are scored ignoring case, as baseline.tsv's cer_ci column is.
var caseInsensitiveKinds = map[string]bool{"receipt": true, "pdf-scan": true, "multipage": true}

// Doc is one corpus document and how it fared.
type Doc struct {
	File, Kind string
	Languages  []string
	Status     string // done, or the failure code
	CER, WER   float64
	BaseCER    float64
	BaseWER    float64
	Seconds    float64
}

// Corpus lists the documents of the corpus in dir, each with its plain
// Tesseract baseline (baseline.tsv, scored as its kind is scored).
func Corpus(dir string) ([]Doc, error) {
	manifest, err := readTSV(filepath.Join(dir, "manifest.tsv"))
	if err != nil {
		return nil, err
	}
	baseline, err := readTSV(filepath.Join(dir, "baseline.tsv"))
	if err != nil {
		return nil, err
	}
	base := map[string]map[string]string{}
	for _, b := range baseline {
		base[b["file"]] = b
	}
	var docs []Doc
	for _, m := range manifest {
		d := Doc{File: m["file"], Kind: m["kind"], Languages: strings.Split(m["language"], "+")}
		if d.Kind == "bad" {
			d.Languages = []string{"eng"}
		} else {
			col := ""
			if IgnoreCase(d.Kind) {
				col = "_ci"
			}
			d.BaseCER, _ = strconv.ParseFloat(base[d.File]["cer"+col], 64)
			d.BaseWER, _ = strconv.ParseFloat(base[d.File]["wer"+col], 64)
		}
		docs = append(docs, d)
	}
	return docs, nil
}

// IgnoreCase reports whether documents of a kind are scored ignoring case.
func IgnoreCase(kind string) bool { return caseInsensitiveKinds[kind] }

// GroundTruth is the path of the ground truth of a corpus file.
func GroundTruth(dir, file string) string {
	return filepath.Join(dir, strings.TrimSuffix(file, filepath.Ext(file))+".gt.txt")
}

// Run evaluates every document of the corpus in dir against the API at
// apiURL, scoring with the cer.py at scorer.
func Run(ctx context.Context, apiURL, dir, scorer string, log io.Writer) ([]Doc, error) {
	docs, err := Corpus(dir)
	if err != nil {
		return nil, err
	}
	for i := range docs {
		d := &docs[i]
		start := time.Now()
		text, status, err := read(ctx, apiURL, filepath.Join(dir, d.File), d.Languages)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.File, err)
		}
		d.Status, d.Seconds = status, time.Since(start).Seconds()
		if d.Kind != "bad" {
			if d.CER, d.WER, err = Score(ctx, scorer, text, GroundTruth(dir, d.File), IgnoreCase(d.Kind)); err != nil {
				return nil, fmt.Errorf("%s: %w", d.File, err)
			}
		}
		fmt.Fprintf(log, "eval: %-32s %-11s %-8s CER %.4f (baseline %.4f)  %.1fs\n", d.File, d.Kind, d.Status, d.CER, d.BaseCER, d.Seconds)
	}
	return docs, nil
}

func readTSV(path string) ([]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma, r.LazyQuotes, r.FieldsPerRecord = '\t', true, -1
	rows, err := r.ReadAll()
	if err != nil || len(rows) == 0 {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	var out []map[string]string
	for _, row := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			if i < len(row) {
				m[h] = row[i]
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// read sends one file through the API as a browser would and returns its
// text, or "" and the failure code.
func read(ctx context.Context, api, path string, langs []string) (string, string, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return "", "", err
	}
	ct := imaging.Sniff(content)
	if ct == "" {
		ct = "image/png" // the bad inputs: let processing refuse them
	}
	size := int64(len(content))
	if size == 0 {
		size = 1
	}
	var created service.CreatedUpload
	if err := call(ctx, http.MethodPost, api+"/uploads", service.CreateUploadRequest{Filename: filepath.Base(path), ContentType: ct, Size: size, Languages: langs}, &created); err != nil {
		return "", "", err
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range created.Upload.Fields {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", filepath.Base(path))
	fw.Write(content)
	mw.Close()
	resp, err := http.Post(created.Upload.URL, mw.FormDataContentType(), &body)
	if err != nil {
		return "", "", err
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return "", "s3_refused", nil // e.g. the zero-byte file, under the policy's minimum
	}
	_ = msg
	for delay := 200 * time.Millisecond; ; delay = min(delay*3/2, 2*time.Second) {
		var st service.UploadStatus
		if err := call(ctx, http.MethodGet, api+"/uploads/"+created.UploadID, nil, &st); err != nil {
			return "", "", err
		}
		switch st.Status {
		case "done":
			return st.Result.Text, "done", nil
		case "failed":
			return "", st.Error.Code, nil
		}
		select {
		case <-ctx.Done():
			return "", "", ctx.Err()
		case <-time.After(delay):
		}
	}
}

func call(ctx context.Context, method, url string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	return json.Unmarshal(b, out)
}

// Score runs the corpus's cer.py on a reading, so the figures are the
// baseline's own.
func Score(ctx context.Context, scorer, hyp, gt string, ignoreCase bool) (cer, wer float64, err error) {
	f, err := os.CreateTemp("", "s3ocr-eval-*.txt")
	if err != nil {
		return 0, 0, err
	}
	defer os.Remove(f.Name())
	f.WriteString(hyp)
	f.Close()
	args := []string{scorer, f.Name(), gt, "--json"}
	if ignoreCase {
		args = append(args, "--ignore-case")
	}
	out, err := exec.CommandContext(ctx, "python3", args...).Output()
	if err != nil {
		return 0, 0, fmt.Errorf("cer.py: %w", err)
	}
	var r struct{ CER, WER float64 }
	if err := json.Unmarshal(out, &r); err != nil {
		return 0, 0, fmt.Errorf("cer.py output %q: %w", out, err)
	}
	return r.CER, r.WER, nil
}

// Table writes CER and WER per kind (means over its documents) beside the
// baseline, then the bad inputs and the codes they failed with.
func Table(w io.Writer, docs []Doc) {
	type agg struct {
		n, ok                int
		cer, wer, bcer, bwer float64
	}
	kinds := map[string]*agg{}
	var order []string
	for _, d := range docs {
		if d.Kind == "bad" {
			continue
		}
		a := kinds[d.Kind]
		if a == nil {
			a = &agg{}
			kinds[d.Kind] = a
			order = append(order, d.Kind)
		}
		a.n++
		if d.Status == "done" {
			a.ok++
		}
		cer, wer := d.CER, d.WER
		if d.Status != "done" {
			cer, wer = 1, 1 // not read at all: every character is an error
		}
		a.cer += cer
		a.wer += wer
		a.bcer += d.BaseCER
		a.bwer += d.BaseWER
	}
	sort.Strings(order)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tdocs\tread\tCER\tbaseline CER\tchange\tWER\tbaseline WER\t")
	for _, k := range order {
		a := kinds[k]
		n := float64(a.n)
		change := "—"
		if a.bcer > 0 {
			change = fmt.Sprintf("%+.0f%%", (a.cer/n-a.bcer/n)/(a.bcer/n)*100)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.4f\t%.4f\t%s\t%.4f\t%.4f\t\n", k, a.n, a.ok, a.cer/n, a.bcer/n, change, a.wer/n, a.bwer/n)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, d := range docs {
		if d.Kind == "bad" {
			fmt.Fprintf(w, "bad input %-24s -> %s\n", d.File, d.Status)
		}
	}
}
