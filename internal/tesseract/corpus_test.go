package tesseract

import (
	"context"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/s3ocr/s3ocr/internal/document"
	"github.com/s3ocr/s3ocr/internal/eval"
	"github.com/s3ocr/s3ocr/internal/imaging"
	"github.com/s3ocr/s3ocr/internal/ocr"
)

// The tests in this file read the whole shared corpus in process, as the
// process function does (internal/document, then the engine page by page),
// and score it with the corpus's own cer.py. They take minutes, so they run
// only when S3OCR_CORPUS names the corpus:
//
//	S3OCR_CORPUS=$PWD/../shared/corpus OMP_THREAD_LIMIT=1 go test -run Corpus_TextHeight -v ./internal/tesseract
//
// S3OCR_ZOOM=0.5 or 2 reads the corpus as scans at half or twice the
// resolution, S3OCR_FILES=a.jpg,b.png only those files, S3OCR_REPEAT=3
// each page three times each way for steadier times.

// corpusDocs lists the documents of the corpus at $S3OCR_CORPUS that have
// text, and skips the test when it is not set.
func corpusDocs(t *testing.T) (string, []eval.Doc) {
	t.Helper()
	dir := os.Getenv("S3OCR_CORPUS")
	if dir == "" {
		t.Skip("S3OCR_CORPUS is not set")
	}
	docs, err := eval.Corpus(dir)
	if err != nil {
		t.Fatal(err)
	}
	// $S3OCR_FILES, comma-separated, reads only those files.
	only := os.Getenv("S3OCR_FILES")
	return dir, slices.DeleteFunc(docs, func(d eval.Doc) bool {
		return d.Kind == "bad" || only != "" && !slices.Contains(strings.Split(only, ","), d.File)
	})
}

// eachPage opens a corpus file as the process function does and calls fn
// with each page: an image to recognise, or a page read from a PDF's text
// layer.
func eachPage(t *testing.T, path string, fn func(i int, img image.Image, text *ocr.Page)) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src, err := (&document.Reader{MaxPixels: 60_000_000, MaxPages: 100}).Open(ctx, data, imaging.Sniff(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer src.Close()
	for i := range src.Pages() {
		img, page, err := src.Page(ctx, i)
		if err != nil {
			t.Fatalf("%s page %d: %v", path, i+1, err)
		}
		fn(i, img, page)
	}
}

// score scores a reading of doc with the corpus's cer.py
// ($S3OCR_SCORER, else tools/cer.py beside the corpus).
func score(t *testing.T, dir string, doc eval.Doc, text string) (cer, wer float64) {
	t.Helper()
	scorer := os.Getenv("S3OCR_SCORER")
	if scorer == "" {
		scorer = filepath.Join(dir, "..", "tools", "cer.py")
	}
	cer, wer, err := eval.Score(context.Background(), scorer, text, eval.GroundTruth(dir, doc.File), eval.IgnoreCase(doc.Kind))
	if err != nil {
		t.Fatal(err)
	}
	return cer, wer
}

// zoom is $S3OCR_ZOOM, 1 when unset: the factor the corpus tests resample
// each page by before reading it, to see the corpus's documents as scans at
// other resolutions: 2 makes its 300-dpi pages 600-dpi ones, 0.5 150-dpi
// ones.
func zoom(t *testing.T) float64 {
	z := os.Getenv("S3OCR_ZOOM")
	if z == "" {
		return 1
	}
	f, err := strconv.ParseFloat(z, 64)
	if err != nil || f <= 0 {
		t.Fatalf("S3OCR_ZOOM=%q", z)
	}
	return f
}

// zoomed resamples img by z, as a grey page; false when it would pass 35
// megapixels (the corpus's largest page), which the tests leave out. A
// page whose file states no resolution still states none.
func zoomed(img image.Image, z float64) (image.Image, bool) {
	if z == 1 {
		return img, true
	}
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	if float64(w)*float64(h)*z*z > 35e6 {
		return nil, false
	}
	g, _ := greyOf(img)
	g = resize(g, z)
	out := &image.Gray{Pix: g.pix, Stride: g.w, Rect: image.Rect(0, 0, g.w, g.h)}
	if _, ok := img.(ocr.UnknownResolution); ok {
		return ocr.UnknownResolution{Image: out}, true
	}
	return out, true
}

// TestCorpus_TextHeightScaling reads every page of the corpus twice, as it
// is and scaled to readableHeights, alternating which goes first so that
// the machine's load falls on both alike, and prints CER and WER per kind
// beside plain Tesseract's, then each document's measured character height
// and time. It fails if scaling makes any kind worse. Pages are zoomed by
// $S3OCR_ZOOM (then the baseline, plain Tesseract on the corpus as it is,
// is only a reference), and each is read $S3OCR_REPEAT times each way (1
// when unset) for steadier times.
func TestCorpus_TextHeightScaling(t *testing.T) {
	dir, docs := corpusDocs(t)
	z := zoom(t)
	repeat := 1
	if r := os.Getenv("S3OCR_REPEAT"); r != "" {
		var err error
		if repeat, err = strconv.Atoi(r); err != nil || repeat < 1 {
			t.Fatalf("S3OCR_REPEAT=%q", r)
		}
	}
	e := newEngine(t)
	modes := []struct {
		name    string
		heights heightRange
	}{{"as is", heightRange{}}, {"scaled", readableHeights}}
	type result struct {
		cer, wer float64
		secs     float64
	}
	type row struct {
		doc     eval.Doc
		heights []float64
		res     [2]result
	}
	var rows []row
	for n, doc := range docs {
		r := row{doc: doc}
		texts := [2][]string{}
		eachPage(t, filepath.Join(dir, doc.File), func(i int, img image.Image, text *ocr.Page) {
			if text != nil {
				texts[0] = append(texts[0], text.Text)
				texts[1] = append(texts[1], text.Text)
				return
			}
			img, ok := zoomed(img, z)
			if !ok {
				return
			}
			r.heights = append(r.heights, charHeight(grayPixels(img), img.Bounds().Dx(), img.Bounds().Dy()))
			for k := range repeat {
				order := []int{0, 1}
				if (n+i+k)%2 == 1 {
					order = []int{1, 0}
				}
				for _, m := range order {
					e.heights = modes[m].heights
					start := time.Now()
					p, err := e.Recognize(context.Background(), img, doc.Languages)
					if err != nil {
						t.Fatalf("%s page %d: %v", doc.File, i+1, err)
					}
					r.res[m].secs += time.Since(start).Seconds() / float64(repeat)
					if k == 0 {
						texts[m] = append(texts[m], p.Text)
					}
				}
			}
		})
		if len(texts[0]) == 0 {
			continue // every page left out by the zoom
		}
		for m := range modes {
			r.res[m].cer, r.res[m].wer = score(t, dir, doc, strings.Join(texts[m], "\f"))
		}
		rows = append(rows, r)
	}

	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tdocs\tbaseline CER\tas is CER\tscaled CER\tbaseline WER\tas is WER\tscaled WER\t")
	var kinds []string
	for _, r := range rows {
		if !slices.Contains(kinds, r.doc.Kind) {
			kinds = append(kinds, r.doc.Kind)
		}
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		var n, bc, bw float64
		var c, w [2]float64
		for _, r := range rows {
			if r.doc.Kind != k {
				continue
			}
			n++
			bc += r.doc.BaseCER
			bw += r.doc.BaseWER
			for m := range modes {
				c[m] += r.res[m].cer
				w[m] += r.res[m].wer
			}
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t\n", k, n, bc/n, c[0]/n, c[1]/n, bw/n, w[0]/n, w[1]/n)
		if c[1] > c[0]+1e-9 {
			t.Errorf("%s: scaling took the mean CER from %.4f to %.4f", k, c[0]/n, c[1]/n)
		}
	}
	tw.Flush()
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "file\tchar px\tas is CER\tscaled CER\tas is s\tscaled s\tratio\t")
	for _, r := range rows {
		hs := make([]string, len(r.heights))
		for i, h := range r.heights {
			hs[i] = strconv.FormatFloat(h, 'f', 0, 64)
		}
		ratio := math.NaN()
		if r.res[0].secs > 0 {
			ratio = r.res[1].secs / r.res[0].secs
		}
		fmt.Fprintf(tw, "%s\t%s\t%.4f\t%.4f\t%.2f\t%.2f\t%.2f\t\n", r.doc.File, strings.Join(hs, ","), r.res[0].cer, r.res[1].cer, r.res[0].secs, r.res[1].secs, ratio)
	}
	tw.Flush()
	t.Log("\n" + b.String())
}

// TestCorpus_HeightSweep is how readableHeights was chosen: it reads every
// page of the corpus with its characters scaled to each height in
// S3OCR_SWEEP (pixels, comma-separated; "0" reads the page as it is) and
// prints each document's CER per height, with the pages zoomed by
// $S3OCR_ZOOM.
func TestCorpus_HeightSweep(t *testing.T) {
	sweep := os.Getenv("S3OCR_SWEEP")
	if sweep == "" {
		t.Skip("S3OCR_SWEEP is not set")
	}
	var targets []float64
	for _, s := range strings.Split(sweep, ",") {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, v)
	}
	z := zoom(t)
	dir, docs := corpusDocs(t)
	e := newEngine(t)
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "file\tkind\tchar px\t")
	for _, v := range targets {
		fmt.Fprintf(tw, "%g\t", v)
	}
	fmt.Fprintln(tw)
	for _, doc := range docs {
		texts := make([][]string, len(targets))
		var hs []string
		ocred := false
		eachPage(t, filepath.Join(dir, doc.File), func(i int, img image.Image, text *ocr.Page) {
			if text != nil {
				return
			}
			img, ok := zoomed(img, z)
			if !ok {
				return
			}
			ocred = true
			hs = append(hs, strconv.FormatFloat(charHeight(grayPixels(img), img.Bounds().Dx(), img.Bounds().Dy()), 'f', 0, 64))
			for k, v := range targets {
				e.heights = heightRange{lo: v, hi: v, up: v, down: v, maxUp: 4}
				p, err := e.Recognize(context.Background(), img, doc.Languages)
				if err != nil {
					t.Fatalf("%s page %d: %v", doc.File, i+1, err)
				}
				texts[k] = append(texts[k], p.Text)
			}
		})
		if !ocred {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t", doc.File, doc.Kind, strings.Join(hs, ","))
		for k := range targets {
			c, _ := score(t, dir, doc, strings.Join(texts[k], "\f"))
			fmt.Fprintf(tw, "%.4f\t", c)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	t.Log("\n" + b.String())
}
