package tesseract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/otiai10/gosseract/v2"

	"github.com/s3ocr/s3ocr/internal/imaging"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/wordmatch"
)

// These tests run Tesseract itself, with the models of the machine (the
// tesseract-ocr-eng and -deu packages). Run them with OMP_THREAD_LIMIT=1 in
// the environment, as the Makefile does, or every page is several times
// slower.

func newEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func decodeFile(t testing.TB, path string) image.Image {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := imaging.Decode(b, 60_000_000)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func helloText(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("../../testdata/hello.txt")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// corpusFile returns the path of a file of the shared corpus (see its
// README), which sits beside this checkout or at $S3OCR_CORPUS, and whether
// it is there.
func corpusFile(name string) (string, bool) {
	dir := os.Getenv("S3OCR_CORPUS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "corpus")
	}
	p := filepath.Join(dir, name)
	_, err := os.Stat(p)
	return p, err == nil
}

// corpus is corpusFile for a test that needs the file: it skips without it.
func corpus(t testing.TB, name string) string {
	t.Helper()
	p, ok := corpusFile(name)
	if !ok {
		t.Skip("corpus not here:", p)
	}
	return p
}

func TestRecognize_ReadsOurPagesExactly(t *testing.T) {
	e := newEngine(t)
	want := helloText(t)
	for _, name := range []string{"hello.png", "hello.jpg", "hello.tif"} {
		t.Run(name, func(t *testing.T) {
			img := decodeFile(t, filepath.Join("..", "..", "testdata", name))
			p, err := e.Recognize(context.Background(), img, []string{"eng"})
			if err != nil {
				t.Fatal(err)
			}
			if p.Text != want {
				t.Fatalf("text:\n%s\nwant:\n%s", p.Text, want)
			}
			if p.Width != 1222 || p.Height != 548 {
				t.Errorf("size %d×%d", p.Width, p.Height)
			}
			checkStructure(t, p)
		})
	}
}

// checkStructure checks what every page must satisfy: lines hold their
// words' text, boxes and confidences, and the page's text and confidence
// are built from them.
func checkStructure(t *testing.T, p *ocr.Page) {
	t.Helper()
	var sum float64
	var n int
	var texts []string
	rules := ruleLines(p.Lines)
	for i, l := range p.Lines {
		if !rules[i] {
			texts = append(texts, l.Text)
		}
		var words []string
		var lineSum float64
		box := l.Words[0].BBox
		for _, w := range l.Words {
			words = append(words, w.Text)
			lineSum += w.Confidence
			if w.Confidence < 0 || w.Confidence > 1 {
				t.Errorf("line %d word %q: confidence %v", i, w.Text, w.Confidence)
			}
			b := w.BBox
			if b[0] < 0 || b[1] < 0 || b[2] > p.Width || b[3] > p.Height || b[0] >= b[2] || b[1] >= b[3] {
				t.Errorf("line %d word %q: box %v outside the %d×%d page", i, w.Text, b, p.Width, p.Height)
			}
			box = union(box, b)
		}
		if l.Text != strings.Join(words, " ") {
			t.Errorf("line %d text %q, words %q", i, l.Text, words)
		}
		if l.BBox != box {
			t.Errorf("line %d box %v, union of its words %v", i, l.BBox, box)
		}
		if d := l.Confidence - lineSum/float64(len(l.Words)); d > 1e-4 || d < -1e-4 {
			t.Errorf("line %d confidence %v, mean of its words %v", i, l.Confidence, lineSum/float64(len(l.Words)))
		}
		sum += lineSum
		n += len(l.Words)
	}
	if got := strings.Fields(p.Text); !slices.Equal(got, strings.Fields(strings.Join(texts, " "))) {
		t.Errorf("page text is not its lines' text (rules left out)")
	}
	if d := p.Confidence - sum/float64(n); d > 1e-4 || d < -1e-4 {
		t.Errorf("page confidence %v, mean of its words %v", p.Confidence, sum/float64(n))
	}
}

// Given the same grey pixels and resolution, the engine must read what the
// tesseract CLI reads: same model, same settings, one pass. Only runs
// of spaces may differ: the CLI writes two where Tesseract has an empty word.
func TestRecognize_SameTextAsTesseractCLI(t *testing.T) {
	if _, err := exec.LookPath("tesseract"); err != nil {
		t.Skip("no tesseract CLI:", err)
	}
	e := newEngine(t)
	files := []string{filepath.Join("..", "..", "testdata", "hello.jpg")}
	for _, name := range []string{"phototest.tif", "receipt_sroie_186.jpg"} {
		if p, ok := corpusFile(name); ok {
			files = append(files, p)
		}
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			img := decodeFile(t, f)
			pgm := filepath.Join(t.TempDir(), "page.pgm")
			if err := os.WriteFile(pgm, pgmOf(img), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("tesseract", pgm, "-", "-l", "eng", "--dpi", "300").Output()
			if err != nil {
				t.Fatal(err)
			}
			p, err := e.Recognize(context.Background(), img, []string{"eng"})
			if err != nil {
				t.Fatal(err)
			}
			cli := strings.TrimRight(string(out), "\n\f")
			if squeeze(p.Text) != squeeze(cli) {
				t.Fatalf("engine:\n%s\n\ntesseract CLI:\n%s", p.Text, cli)
			}
		})
	}
}

// squeeze turns runs of spaces into one, keeping line breaks.
func squeeze(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}

// Real pages: the error rate against the corpus ground truth stays near what
// was measured when this was written (phototest 0.000, receipt 186 0.126
// case-insensitive with the default 300 dpi).
func TestRecognize_CorpusErrorRate(t *testing.T) {
	e := newEngine(t)
	tests := []struct {
		file       string
		ignoreCase bool // SROIE ground truth is upper case
		maxCER     float64
	}{
		{"phototest.tif", false, 0.01},
		{"unlv_mag_8087_054.tif", false, 0.10},
		{"receipt_sroie_186.jpg", true, 0.20},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := corpus(t, tt.file)
			gt, err := os.ReadFile(strings.TrimSuffix(path, filepath.Ext(path)) + ".gt.txt")
			if err != nil {
				t.Fatal(err)
			}
			p, err := e.Recognize(context.Background(), decodeFile(t, path), []string{"eng"})
			if err != nil {
				t.Fatal(err)
			}
			if c := cer(p.Text, string(gt), tt.ignoreCase); c > tt.maxCER {
				t.Fatalf("CER %.4f over %.2f; text:\n%s", c, tt.maxCER, p.Text)
			} else {
				t.Logf("CER %.4f", c)
			}
			checkStructure(t, p)
		})
	}
}

// cer is the character error rate as the corpus's tools/cer.py computes it:
// Levenshtein distance over the ground truth's length, after every run of
// whitespace becomes one space.
func cer(hyp, gt string, ignoreCase bool) float64 {
	norm := func(s string) []rune {
		s = strings.Join(strings.Fields(s), " ")
		if ignoreCase {
			s = strings.ToLower(s)
		}
		return []rune(s)
	}
	a, b := norm(hyp), norm(gt)
	if len(b) == 0 {
		if len(a) == 0 {
			return 0
		}
		return 1
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return float64(prev[len(b)]) / float64(len(b))
}

func TestRecognize_ReusesTheWarmClientUntilTheLanguagesChange(t *testing.T) {
	e := newEngine(t)
	img := decodeFile(t, "../../testdata/hello.png")
	steps := []struct {
		langs []string
		inits int
	}{
		{[]string{"eng"}, 1},
		{[]string{"eng"}, 1},
		{nil, 1}, // the default, eng
		{[]string{"eng", "deu"}, 2},
		{[]string{"eng", "deu"}, 2},
		{[]string{"deu", "eng"}, 3}, // the order matters to Tesseract
		{[]string{"eng"}, 4},
	}
	var first *gosseract.Client
	for i, s := range steps {
		if _, err := e.Recognize(context.Background(), img, s.langs); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = e.client
		}
		if e.inits != s.inits {
			t.Fatalf("step %d (%v): %d inits, want %d", i, s.langs, e.inits, s.inits)
		}
		if e.client != first {
			t.Fatalf("step %d: a new client was made", i)
		}
	}
}

func TestRecognize_LanguageNotInstalled(t *testing.T) {
	e := newEngine(t)
	img := decodeFile(t, "../../testdata/hello.png")
	for _, langs := range [][]string{{"xx"}, {"eng", "klingon"}, {"osd"}, {"../eng"}, {""}, {"eng+deu"}} {
		_, err := e.Recognize(context.Background(), img, langs)
		var oe *ocr.Error
		if !errors.As(err, &oe) || oe.Code != ocr.ELANGUAGE {
			t.Errorf("%q: err = %v, want %s", langs, err, ocr.ELANGUAGE)
		}
	}
	if e.inits != 0 || e.client != nil {
		t.Fatalf("a refused language reached Tesseract: %d inits", e.inits)
	}
	// And the engine still works.
	if p, err := e.Recognize(context.Background(), img, []string{"eng"}); err != nil || p.Text != helloText(t) {
		t.Fatalf("after refusals: %v %q", err, p.Text)
	}
}

func TestRecognize_CancelledContextStartsNothing(t *testing.T) {
	e := newEngine(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.Recognize(ctx, decodeFile(t, "../../testdata/hello.png"), []string{"eng"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if ocr.Permanent(err) {
		t.Fatal("a cancelled call must be retryable")
	}
	if e.inits != 0 {
		t.Fatal("Tesseract was initialised for a cancelled call")
	}
}

func TestRecognize_ImagesTesseractCannotTake(t *testing.T) {
	e := newEngine(t)
	tests := map[string]image.Image{
		"nil":               nil,
		"no pixels":         image.NewGray(image.Rect(0, 0, 0, 10)),
		"wider than 32767":  image.NewGray(image.Rect(0, 0, 32768, 1)),
		"taller than 32767": image.NewGray(image.Rect(0, 0, 1, 40000)),
	}
	for name, img := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := e.Recognize(context.Background(), img, nil)
			if ocr.ErrorCode(err) != ocr.EOCRFAILED {
				t.Fatalf("err = %v, want %s", err, ocr.EOCRFAILED)
			}
		})
	}
}

func TestRecognize_BlankAndTinyPagesReadAsEmpty(t *testing.T) {
	e := newEngine(t)
	for _, size := range []image.Point{{1, 1}, {3, 3}, {2000, 1}, {400, 300}} {
		img := image.NewGray(image.Rect(0, 0, size.X, size.Y))
		for i := range img.Pix {
			img.Pix[i] = 255
		}
		p, err := e.Recognize(context.Background(), img, nil)
		if err != nil {
			t.Fatalf("%v: %v", size, err)
		}
		if p.Text != "" || len(p.Lines) != 0 || p.Confidence != 0 || p.Width != size.X || p.Height != size.Y {
			t.Fatalf("%v: %+v", size, p)
		}
	}
}

func TestRecognize_ConcurrentCallsAreSerialised(t *testing.T) {
	e := newEngine(t)
	img := decodeFile(t, "../../testdata/hello.png")
	want := helloText(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := e.Recognize(context.Background(), img, []string{"eng"})
			if err == nil && p.Text != want {
				err = errors.New("wrong text: " + p.Text)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if e.inits != 1 {
		t.Fatalf("%d inits", e.inits)
	}
}

func TestRecognize_FailsAfterClose(t *testing.T) {
	e := newEngine(t)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Recognize(context.Background(), image.NewGray(image.Rect(0, 0, 10, 10)), nil); err == nil {
		t.Fatal("no error after Close")
	}
}

func TestLanguages_ListsModelsWithoutOSD(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"eng.traineddata", "osd.traineddata", "deu.traineddata", "chi_sim.traineddata", "README.md", "eng.user-words"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e, err := New(Config{TessdataPrefix: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if got, want := e.Languages(), []string{"chi_sim", "deu", "eng"}; !slices.Equal(got, want) {
		t.Fatalf("Languages() = %q, want %q", got, want)
	}
	// Checked against the files, before any model is loaded.
	_, err = e.Recognize(context.Background(), image.NewGray(image.Rect(0, 0, 10, 10)), []string{"fra"})
	if ocr.ErrorCode(err) != ocr.ELANGUAGE || !strings.Contains(ocr.ErrorMessage(err), "chi_sim, deu, eng") {
		t.Fatalf("err = %v", err)
	}
}

// The Lambda layer keeps its models in its own directory: the engine must
// read from the directory it is given, not fall back to Tesseract's default.
func TestNew_UsesTheGivenDirectory(t *testing.T) {
	src := os.Getenv("TESSDATA_PREFIX")
	if src == "" {
		src = "/usr/share/tesseract-ocr/5/tessdata" // Debian's
	}
	model := filepath.Join(src, "eng.traineddata")
	if _, err := os.Stat(model); err != nil {
		t.Skip("no eng model where expected:", err)
	}
	dir := t.TempDir()
	if err := os.Symlink(model, filepath.Join(dir, "eng.traineddata")); err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{TessdataPrefix: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if got := e.Languages(); !slices.Equal(got, []string{"eng"}) {
		t.Fatalf("Languages() = %q", got)
	}
	p, err := e.Recognize(context.Background(), decodeFile(t, "../../testdata/hello.png"), []string{"eng"})
	if err != nil || p.Text != helloText(t) {
		t.Fatalf("%v %q", err, p.Text)
	}
	if _, err := e.Recognize(context.Background(), decodeFile(t, "../../testdata/hello.png"), []string{"deu"}); ocr.ErrorCode(err) != ocr.ELANGUAGE {
		t.Fatalf("deu is installed elsewhere, not here: err = %v", err)
	}
}

func TestLanguages_DefaultDirectory(t *testing.T) {
	langs := newEngine(t).Languages()
	if !slices.Contains(langs, "eng") || slices.Contains(langs, "osd") || !slices.IsSorted(langs) {
		t.Fatalf("Languages() = %q", langs)
	}
}

func TestNew_RefusesADirectoryWithoutModels(t *testing.T) {
	for name, dir := range map[string]string{"empty": t.TempDir(), "missing": filepath.Join(t.TempDir(), "nope")} {
		if _, err := New(Config{TessdataPrefix: dir}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := New(Config{DPI: -1}); err == nil {
		t.Error("negative DPI: no error")
	}
}

func TestInfo(t *testing.T) {
	info := newEngine(t).Info()
	if info.Name != "tesseract" || info.Version == "" || info.Version != gosseract.Version() {
		t.Fatalf("Info() = %+v", info)
	}
}

func TestBuildPage_LaysOutTextLikeTesseract(t *testing.T) {
	box := func(x0, y0, x1, y1 int) image.Rectangle { return image.Rect(x0, y0, x1, y1) }
	boxes := []gosseract.BoundingBox{
		{Word: "Dear", Confidence: 90, Box: box(10, 10, 50, 30), BlockNum: 1, ParNum: 1, LineNum: 1, WordNum: 1},
		{Word: "Sir,", Confidence: 80, Box: box(60, 12, 90, 32), BlockNum: 1, ParNum: 1, LineNum: 1, WordNum: 2},
		{Word: "thanks.", Confidence: 70, Box: box(10, 40, 70, 60), BlockNum: 1, ParNum: 1, LineNum: 2, WordNum: 1},
		{Word: " ", Confidence: 0, Box: box(80, 40, 81, 60), BlockNum: 1, ParNum: 1, LineNum: 2, WordNum: 2},
		{Word: "Yours", Confidence: 100, Box: box(10, 80, 60, 100), BlockNum: 1, ParNum: 2, LineNum: 1, WordNum: 1},
		{Word: "PS", Confidence: 60, Box: box(10, 200, 30, 220), BlockNum: 2, ParNum: 1, LineNum: 1, WordNum: 1},
		{Word: "x", Confidence: 150, Box: box(40, 200, 45, 220), BlockNum: 2, ParNum: 1, LineNum: 1, WordNum: 2},
	}
	p := buildPage(100, 300, boxes)
	wantText := "Dear Sir,\nthanks.\n\nYours\n\nPS x"
	if p.Text != wantText {
		t.Fatalf("text %q, want %q", p.Text, wantText)
	}
	if len(p.Lines) != 4 {
		t.Fatalf("%d lines", len(p.Lines))
	}
	first := p.Lines[0]
	if first.Text != "Dear Sir," || first.BBox != (ocr.BBox{10, 10, 90, 32}) || first.Confidence != 0.85 || len(first.Words) != 2 {
		t.Fatalf("first line %+v", first)
	}
	if w := p.Lines[1].Words; len(w) != 1 || w[0].Text != "thanks." {
		t.Fatalf("blank word kept: %+v", w)
	}
	if c := p.Lines[3].Words[1].Confidence; c != 1 {
		t.Fatalf("confidence over 100 became %v, want 1", c)
	}
	// (0.9+0.8+0.7+1+0.6+1)/6
	if p.Confidence != 0.8333 {
		t.Fatalf("page confidence %v", p.Confidence)
	}
	if empty := buildPage(5, 5, nil); empty.Text != "" || empty.Lines != nil || empty.Confidence != 0 {
		t.Fatalf("empty page %+v", empty)
	}
}

// pgmOf encodes img's grey pixels as a binary PGM: for the tesseract CLI,
// and to hand a page to the client in tests.
func pgmOf(img image.Image) []byte {
	b := img.Bounds()
	return append(fmt.Appendf(nil, "P5\n%d %d\n255\n", b.Dx(), b.Dy()), grayPixels(img)...)
}

func TestGrayPixels(t *testing.T) {
	gray := image.NewGray(image.Rect(0, 0, 4, 4))
	gray.SetGray(1, 1, color.Gray{7})
	gray.SetGray(2, 1, color.Gray{9})
	rgba := image.NewRGBA(image.Rect(0, 0, 2, 1))
	rgba.SetRGBA(0, 0, color.RGBA{0, 0, 0, 0})        // transparent: white
	rgba.SetRGBA(1, 0, color.RGBA{100, 200, 50, 255}) // 0.3*100+0.5*200+0.2*50 = 140
	nrgba := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	nrgba.SetNRGBA(0, 0, color.NRGBA{0, 0, 0, 0})   // transparent black: white
	nrgba.SetNRGBA(1, 0, color.NRGBA{0, 0, 0, 128}) // half-covered black: mid grey
	ycc := image.NewYCbCr(image.Rect(0, 0, 2, 1), image.YCbCrSubsampleRatio444)
	ycc.Y[0], ycc.Cb[0], ycc.Cr[0] = 255, 128, 128
	ycc.Y[1], ycc.Cb[1], ycc.Cr[1] = 0, 128, 128
	pal := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{color.White, color.Black})
	pal.SetColorIndex(1, 0, 1)
	tests := []struct {
		name string
		img  image.Image
		want []byte
	}{
		{"gray sub-image", gray.SubImage(image.Rect(1, 1, 3, 2)), []byte{7, 9}},
		{"rgba", rgba, []byte{255, 140}},
		{"nrgba", nrgba, []byte{255, 127}},
		{"ycbcr", ycc, []byte{255, 0}},
		{"paletted", pal, []byte{255, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := grayPixels(tt.img)
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	// A grey page whose rows lie end to end is handed on as it is: its
	// pixels are not copied.
	whole := image.NewGray(image.Rect(2, 3, 6, 5))
	if got := grayPixels(whole); len(got) != 8 || &got[0] != &whole.Pix[0] {
		t.Fatal("a whole grey image was copied")
	}
}

// TestGrayPixels_YCbCr checks that a JPEG's page is its luma plane, for
// every chroma subsampling, on whole images and on sub-images at odd
// offsets (where luma and chroma rows do not start together).
func TestGrayPixels_YCbCr(t *testing.T) {
	ratios := []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, r := range ratios {
		m := image.NewYCbCr(image.Rect(-4, -2, 33, 21), r)
		for _, plane := range [][]byte{m.Y, m.Cb, m.Cr} {
			for i := range plane {
				plane[i] = byte(rng.IntN(256))
			}
		}
		for _, sub := range []image.Rectangle{m.Rect, image.Rect(3, 5, 30, 20), image.Rect(-3, -1, 2, 2)} {
			img := m.SubImage(sub).(*image.YCbCr)
			got := grayPixels(img)
			i := 0
			for y := sub.Min.Y; y < sub.Max.Y; y++ {
				for x := sub.Min.X; x < sub.Max.X; x++ {
					if want := img.YCbCrAt(x, y).Y; got[i] != want {
						t.Fatalf("%v %v: pixel (%d,%d) is %d, want its luma %d", r, sub, x, y, got[i], want)
					}
					i++
				}
			}
		}
	}
}

// BenchmarkRecognize reads one page with a warm engine: the cost of a page
// in a Lambda container after the first. Run it with OMP_THREAD_LIMIT=1.
func BenchmarkRecognize(b *testing.B) {
	e := newEngine(b)
	pages := map[string]string{"hello.png": "../../testdata/hello.png"}
	for _, name := range []string{"phototest.tif", "receipt_sroie_186.jpg", "unlv_mag_8087_054.tif"} {
		if p, ok := corpusFile(name); ok {
			pages[name] = p
		}
	}
	for name, path := range pages {
		img := decodeFile(b, path)
		b.Run(name, func(b *testing.B) {
			if _, err := e.Recognize(context.Background(), img, nil); err != nil { // warm up
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := e.Recognize(context.Background(), img, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// turn returns img turned a quarter clockwise n times.
func turn(img image.Image, n int) image.Image {
	for range n % 4 {
		b := img.Bounds()
		dst := image.NewGray(image.Rect(0, 0, b.Dy(), b.Dx()))
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				dst.Set(b.Max.Y-1-y, x-b.Min.X, img.At(x, y))
			}
		}
		img = dst
	}
	return img
}

// An upright page is read once, without orientation detection; a page
// turned upside down or a quarter counter-clockwise reads as noise that way,
// and is read again with it, giving the upright page's words.
func TestRecognize_TurnedPagesAreReadAgainWithOrientation(t *testing.T) {
	e := newEngine(t)
	ctx := context.Background()
	img := decodeFile(t, filepath.Join("..", "..", "testdata", "invoice.png"))
	upright, err := e.Recognize(ctx, img, []string{"eng"})
	if err != nil {
		t.Fatal(err)
	}
	if e.reads != 1 {
		t.Fatalf("upright page read %d times, want once", e.reads)
	}
	if c := upright.Confidence; c < osdBelow {
		t.Fatalf("upright page's confidence %.2f is under %.2f", c, osdBelow)
	}
	want := strings.Fields(upright.Text)
	for _, quarters := range []int{2, 3} {
		t.Run(fmt.Sprintf("turned %d°", quarters*90), func(t *testing.T) {
			before := e.reads
			p, err := e.Recognize(ctx, turn(img, quarters), []string{"eng"})
			if err != nil {
				t.Fatal(err)
			}
			if n := e.reads - before; n != 2 {
				t.Errorf("read %d times, want twice", n)
			}
			if recall := wordmatch.Recall(want, strings.Fields(p.Text)); recall < 0.95 {
				t.Fatalf("%.0f%% of the upright page's words; text:\n%s", recall*100, p.Text)
			}
		})
	}
}

// TestRecognize_LeavesNothingOnTheCHeap reads the same page again and again
// and checks that Tesseract's C heap holds no more after each than after
// the first. gosseract as released leaves each word's text and the result
// iterator allocated (6 KB a reading of this page); third_party/gosseract
// frees them. The bytes are few, but they lie scattered over the heap, each
// keeping a page of memory that malloc_trim can no longer give back: with
// them, a 50-page document peaked 7 MB higher than without (make bench's
// memory figures).
//
// It measures in a process of its own with glibc's per-thread caches off:
// they hold freed blocks as in use, up to tens of kilobytes for each
// thread that called into C, which would hide a leak of this size.
func TestRecognize_LeavesNothingOnTheCHeap(t *testing.T) {
	const child = "S3OCR_TEST_HEAP_CHILD"
	if os.Getenv(child) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRecognize_LeavesNothingOnTheCHeap$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), child+"=1", "GLIBC_TUNABLES=glibc.malloc.tcache_count=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if !strings.Contains(string(out), "--- PASS: TestRecognize_LeavesNothingOnTheCHeap") {
			t.Fatalf("the measuring process did not pass:\n%s", out)
		}
		return
	}
	p := newSynthPage(t, 11)
	p.column(synthMargin, synthMargin+60, synthWidth-2*synthMargin, append(slices.Clone(townProse), batteryProse...))
	e := newEngine(t)
	read := func() int {
		page, err := e.Recognize(context.Background(), p.img, nil)
		if err != nil {
			t.Fatal(err)
		}
		return len(strings.Fields(page.Text))
	}
	read() // the model and Tesseract's lasting state
	before := cHeapInUse()
	words := 0
	for range 4 {
		words += read()
	}
	// Leaking, the heap grew by about 32 bytes a word read (23 KB here);
	// freed, by under half a kilobyte a reading, whatever the words.
	if grown := cHeapInUse() - before; words < 400 || grown > 8*int64(words) {
		t.Fatalf("the C heap in use grew by %d bytes over 4 readings of %d words", grown, words)
	}
}

// TestRecognize_GoHoldsNoCopyOfThePageWhileReading checks that once
// Leptonica has its copy of a page, Go's heap keeps nothing of the page
// but the caller's image while Tesseract reads: the grey pixels and their
// serialisation for Leptonica (as large as the page each) would sit beside
// Tesseract's own memory at its peak. An engine's method that held the
// serialised page to its end raised make bench's one-page peak from 76 to
// 84 MB.
func TestRecognize_GoHoldsNoCopyOfThePageWhileReading(t *testing.T) {
	p := newSynthPage(t, 11)
	p.column(synthMargin, synthMargin+60, synthWidth-2*synthMargin, townProse)
	e := newEngine(t)
	pagePixels := uint64(len(p.img.Pix)) // one byte a pixel: the caller's image
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var live []uint64
	handedOver = func() {
		metrics.Read(sample)
		live = append(live, sample[0].Value.Uint64())
	}
	t.Cleanup(func() { handedOver = nil })
	if _, err := e.Recognize(context.Background(), p.img, nil); err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(p.img) // the caller's image stays, as the handler's may
	if len(live) != 1 {
		t.Fatalf("the page was handed over %d times, want 1", len(live))
	}
	// The image itself and the engine's lasting state; a second copy of
	// the page would take it over one and a half pages.
	if live[0] > pagePixels*3/2 {
		t.Fatalf("Go's heap held %.1f MB while Tesseract read a page of %.1f MB", float64(live[0])/1e6, float64(pagePixels)/1e6)
	}
}
