// Package tesseract reads text from page images with Tesseract, through
// gosseract. It implements ocr.Engine.
//
// Tesseract never parses an uploaded file: the caller hands over an image
// already decoded in Go (internal/imaging), which is turned into 8-bit grey
// here and handed over as Leptonica's own serialised image (spix.go).
//
// OMP_THREAD_LIMIT=1 must be in the environment when the process starts.
// Tesseract's OpenMP runtime (libgomp) reads it in an ELF constructor, before
// any Go code runs, so os.Setenv is too late; without it a page is 3–10×
// slower and erratic on 2 vCPUs (see NOTES.md). The Makefile and
// template.yaml set it.
package tesseract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/otiai10/gosseract/v2"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// Config says where the models are and what to assume about the images.
type Config struct {
	// TessdataPrefix is the directory holding the *.traineddata files; ""
	// means Tesseract's default ($TESSDATA_PREFIX, else its compiled-in path).
	TessdataPrefix string

	// DPI is the resolution to assume when the image carries none, which
	// is always for images decoded in Go. 0 means DefaultDPI. 70 is
	// Tesseract's "unknown": it then estimates one from the text's size.
	DPI int
}

// DefaultDPI is the resolution Tesseract is told when Config.DPI is 0: that
// of a typical scan. Measured on the corpus: with 300 the text equals the
// tesseract CLI's on the scans that say they are 300 dpi (segmodeimg.tif's
// reading order changes without it), and the error rate over the 15 image
// files is no worse than letting Tesseract estimate (sum of CERs 3.01 vs
// 3.27; the CLI 2.98). A page read rescaled (see readableHeights) is
// given this resolution times its scale, so that its text keeps its size in
// points.
const DefaultDPI = 300

// DefaultLanguage is read when Recognize is given no languages.
const DefaultLanguage = "eng"

// maxSide is the largest width or height Tesseract's thresholder accepts
// (INT16_MAX). Past it Recognize fails, and gosseract then dereferences a
// null result iterator, so it must never be reached.
const maxSide = 32767

// Engine is a warm Tesseract: one gosseract client, initialised once per
// language set and reused by every call, because loading a model costs
// ~80 ms and a Lambda container serves many pages. Calls are serialised,
// because one client holds one page at a time; a Pool reads several pages
// at once with several engines. Their Inits run one at a time (apiLock).
type Engine struct {
	prefix    string // "" for Tesseract's default
	dpi       int
	installed []string // sorted, without osd
	info      ocr.EngineInfo
	heights   heightRange // the character heights pages are read at: readableHeights

	mu     sync.Mutex
	thread thread            // where every call into Tesseract is made (thread.go)
	client *gosseract.Client // nil until the first page, and after a failed init
	langs  string            // the language set client was initialised for, "eng+deu"
	inits  int               // how many times a client was (re)initialised: for tests
	reads  int               // how many recognitions ran (a page may take two): for tests
	scaled int               // how many pages were read rescaled: for tests
	oneBit int               // how many pages were handed over at one bit a pixel: for tests
	framed int               // how many pages had a dark frame painted out (border.go): for tests
	closed bool

	osd     *osd     // script detection for Auto, loaded on the first such page
	noOSD   bool     // osd.traineddata could not be loaded: Auto pages read as Latin
	scripts []string // the script OSD named for each Auto page, "" for none: for tests
}

// New returns an engine for the models in cfg.TessdataPrefix. It fails if
// the directory holds no models. No model is loaded until the first page.
func New(cfg Config) (*Engine, error) {
	if cfg.DPI < 0 {
		return nil, fmt.Errorf("tesseract: DPI must not be negative, got %d", cfg.DPI)
	}
	if cfg.DPI == 0 {
		cfg.DPI = DefaultDPI
	}
	installed, err := installedLanguages(cfg.TessdataPrefix)
	if err != nil {
		return nil, err
	}
	if len(installed) == 0 {
		where := cfg.TessdataPrefix
		if where == "" {
			where = "Tesseract's default tessdata directory"
		}
		return nil, fmt.Errorf("tesseract: no language models (*.traineddata) in %s", where)
	}
	return &Engine{
		prefix:    cfg.TessdataPrefix,
		dpi:       cfg.DPI,
		installed: installed,
		info:      ocr.EngineInfo{Name: "tesseract", Version: gosseract.Version()},
		heights:   readableHeights,
	}, nil
}

// defaultLanguages lists the models in Tesseract's default directory. Only
// Tesseract knows its compiled-in path; gosseract asks it by initialising a
// process-wide API with no lock, so ask once.
var defaultLanguages = sync.OnceValues(gosseract.GetAvailableLanguages)

// installedLanguages lists the models in dir, or in Tesseract's default
// directory when dir is "".
func installedLanguages(dir string) ([]string, error) {
	var names []string
	if dir == "" {
		langs, err := defaultLanguages()
		if err != nil {
			return nil, fmt.Errorf("tesseract: list languages: %w", err)
		}
		names = slices.Clone(langs) // the cached list is shared
	} else {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("tesseract: tessdata directory: %w", err)
		}
		for _, f := range entries {
			if name, ok := strings.CutSuffix(f.Name(), ".traineddata"); ok && !f.IsDir() {
				names = append(names, name)
			}
		}
	}
	// osd is orientation and script detection, not a language to read.
	names = slices.DeleteFunc(names, func(s string) bool { return s == "osd" })
	slices.Sort(names)
	return slices.Compact(names), nil
}

// Info names the engine and the Tesseract version it links.
func (e *Engine) Info() ocr.EngineInfo { return e.info }

// Languages lists the installed language codes, sorted, without osd.
func (e *Engine) Languages() []string { return slices.Clone(e.installed) }

// Recognize reads one page. langs are Tesseract codes, the first primary
// ("eng", "deu"); none means DefaultLanguage; Auto alone chooses them from
// the page's script (see auto.go) and sets the page's Languages to those
// read with. The page is prepared first (see prepare): a dark frame that
// would hide faint print is painted out, and a page whose characters are
// much taller or shorter than Tesseract reads best is resampled; its boxes
// are still in the page's own pixels. It returns an *ocr.Error with code
// ELANGUAGE for a language not installed and EOCRFAILED for an image
// Tesseract cannot take (empty, or a side over 32767 pixels). A context done
// before recognition starts returns its error; once started, a page runs to
// its end, because gosseract offers no way to stop it.
func (e *Engine) Recognize(ctx context.Context, img image.Image, langs []string) (*ocr.Page, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("tesseract: not started: %w", err)
	}
	auto := IsAuto(langs)
	if len(langs) == 0 {
		langs = []string{DefaultLanguage}
	}
	// Check the files before Init ever sees the languages: a failed Init
	// leaves a gosseract client unusable, and gosseract copies Init's
	// error output into a 512-byte buffer that stdio treats as BUFSIZ.
	for _, l := range langs {
		if !auto && !slices.Contains(e.installed, l) {
			return nil, ocr.Errorf(ocr.ELANGUAGE, "language %q is not installed (installed: %s)", l, strings.Join(e.installed, ", "))
		}
	}
	unknownDPI := false
	if u, ok := img.(ocr.UnknownResolution); ok {
		img, unknownDPI = u.Image, true
	}
	if img == nil || img.Bounds().Empty() {
		return nil, ocr.Errorf(ocr.EOCRFAILED, "the image has no pixels")
	}
	b := img.Bounds()
	if b.Dx() > maxSide || b.Dy() > maxSide {
		return nil, ocr.Errorf(ocr.EOCRFAILED, "the image is %d×%d; the OCR engine reads at most %d pixels a side", b.Dx(), b.Dy(), maxSide)
	}
	// Outside the lock: Go work that can overlap another page.
	p := e.prepare(img, unknownDPI)

	e.mu.Lock()
	defer e.mu.Unlock()
	if err := ctx.Err(); err != nil { // it may have ended while waiting for the lock
		return nil, fmt.Errorf("tesseract: not started: %w", err)
	}
	if e.closed {
		return nil, errors.New("tesseract: engine closed")
	}
	if p.scale != 1 {
		e.scaled++
	}
	if p.bilevel {
		e.oneBit++
	}
	if p.framed {
		e.framed++
	}
	var boxes []gosseract.BoundingBox
	var used []string
	var err error
	// The page goes to the closure alone: p lives on to the end of this
	// method, and holding the page there would keep it (8.7 MB for a grey
	// A4 page at 300 dpi) in Go's heap beside Tesseract's whole reading,
	// which releaseGo is there to prevent (make bench's peak for one page:
	// 84 MB with it, 76 without).
	page := p.page
	p.page = nil
	e.thread.run(func() {
		tuneHeap()
		if auto {
			boxes, used, err = e.recognizeAuto(page, p.dpi)
		} else {
			boxes, err = e.recognize(page, p.dpi, strings.Join(langs, "+"))
		}
		e.releasePage()
		trimHeap()
	})
	if err != nil {
		return nil, err
	}
	if p.scale != 1 {
		unscaleBoxes(boxes, p.scale, b.Dx(), b.Dy())
	}
	read := buildPage(b.Dx(), b.Dy(), boxes)
	read.Languages = used
	return read, nil
}

// prepared is a page as Tesseract is handed it.
type prepared struct {
	page    []byte  // serialised for Leptonica (spix.go)
	scale   float64 // what the page was resampled by: 1, or see readableHeights
	dpi     int     // its resolution, as user_defined_dpi
	bilevel bool    // handed over at one bit a pixel
	framed  bool    // a dark frame was painted out (border.go)
}

// prepare makes img the page Tesseract reads: grey, its scanner's dark
// frame painted out when that frame would take Tesseract's threshold,
// resampled when its characters are far from the height Tesseract reads
// best, and serialised for Leptonica. Its resolution is the engine's (a
// scan's, DefaultDPI) unless unknownDPI says the file gave none, when it
// is estimated from the height of its characters (see dpiPerPixel).
func (e *Engine) prepare(img image.Image, unknownDPI bool) prepared {
	// g may be img's own pixels (see greyOf): clearFrame paints a copy of
	// those.
	g, own := greyOf(img)
	sampled := sampleOf(g)
	g, framed := clearFrame(g, sampled, own)
	ch := sampled.charHeight()
	scale := e.heights.scale(ch, g.w, g.h)
	if scale != 1 {
		g = resize(g, scale)
	}
	p := prepared{scale: scale, dpi: e.dpi, bilevel: g.bilevel(), framed: framed}
	// A page of pure black and white goes at one bit a pixel, as the CLI
	// hands over a bilevel scan. (A page rescaled has grey edges, and is
	// grey.) Nothing uses the grey pixels after this, so the collector may
	// take them once Leptonica has its copy (releaseGo), unless the
	// caller still holds img.
	if p.bilevel {
		p.page = spixBilevel(g)
	} else {
		p.page = spix(g)
	}
	switch {
	case unknownDPI && ch > 0:
		// The characters' height as read, after any resampling.
		p.dpi = min(maxDPI, max(minDPI, int(math.Round(dpiPerPixel*ch*scale))))
	case p.dpi > minDPI:
		// The page's physical size is unchanged: its text is as many
		// points tall as before, in fewer or more pixels. Tesseract's
		// layout analysis measures columns and gaps in inches.
		p.dpi = min(maxDPI, max(minDPI, int(math.Round(float64(p.dpi)*scale))))
	}
	return p
}

// dpiPerPixel is the resolution a page whose file gives none is read at,
// per pixel of its characters' height (charHeight): 13, so that characters
// 23 px tall are read as a 300-dpi scan, 35 px as 455 dpi. It is what
// Tesseract itself estimates on such files (the CLI says "Estimating
// resolution as" 160–448 on the corpus's receipt photos, 12.6 to 14 times
// their height), measured on our own height, after any resampling, which
// reads them better than Tesseract's estimate (user_defined_dpi 70). On
// the five receipt photos of the corpus, against DefaultDPI: mean CER
// 0.173 → 0.130 as they are, 0.260 → 0.196 at half resolution, 0.135 →
// 0.132 at double (TestCorpus_TextHeightScaling, S3OCR_ZOOM). Files that
// state a resolution keep DefaultDPI: the same estimate on those (the
// 300-dpi TIFFs, the 96-dpi bank statement) made them read worse.
const dpiPerPixel = 13

// handedOver, when set (by tests), runs once Leptonica holds its copy of a
// page and the Go heap's garbage has been collected, as Tesseract starts
// reading it.
var handedOver func()

// blankPGM is an 8×8 white page: reading it makes gosseract run its lazy
// Init at a moment of our choosing, in a few milliseconds.
var blankPGM = append([]byte("P5\n8 8\n255\n"), bytes.Repeat([]byte{255}, 64)...)

// init (re)initialises the client for a language set, holding apiLock
// alone: gosseract runs Init inside the first recognition after a language
// change, so a blank page is read for it. e.mu must be held.
func (e *Engine) init(langs string) error {
	apiLock.Lock()
	defer apiLock.Unlock()
	if e.client == nil {
		c := gosseract.NewClient()
		if e.prefix != "" {
			if err := c.SetTessdataPrefix(e.prefix); err != nil {
				c.Close()
				return fmt.Errorf("tesseract: %w", err)
			}
		}
		e.client, e.langs = c, ""
	}
	if err := e.client.SetLanguage(strings.Split(langs, "+")...); err != nil {
		return fmt.Errorf("tesseract: %w", err)
	}
	e.inits++
	err := e.client.SetImageFromBytes(blankPGM)
	if err == nil {
		_, err = e.client.GetBoundingBoxesVerbose()
	}
	if err != nil {
		// Init failed. Start from a fresh client next time rather than
		// trust this one.
		e.client.Close()
		e.client, e.langs = nil, ""
		return fmt.Errorf("tesseract: %w", err)
	}
	e.langs = langs
	return nil
}

// recognize runs one recognition of a page (encoded for Leptonica, see
// spix.go) at a resolution with the languages, reusing the client when it
// was initialised for them. e.mu must be held.
func (e *Engine) recognize(page []byte, dpi int, langs string) ([]gosseract.BoundingBox, error) {
	if e.client == nil || langs != e.langs {
		if err := e.init(langs); err != nil {
			return nil, err
		}
	}
	// Engines of a pool recognise at the same time; none while an Init
	// has stderr redirected.
	apiLock.RLock()
	defer apiLock.RUnlock()
	// Kept by gosseract and applied again after every Init: a new
	// language set gets a new Tesseract object with defaults.
	//
	// The page carries no resolution, so gosseract would say 70 dpi, which
	// Tesseract takes as "unknown"; user_defined_dpi overrides it.
	e.client.SetVariable("user_defined_dpi", strconv.Itoa(dpi))
	if err := e.client.SetImageFromBytes(page); err != nil {
		return nil, fmt.Errorf("tesseract: %w", err)
	}
	releaseGo()
	if handedOver != nil {
		handedOver()
	}
	// GetBoundingBoxesVerbose runs recognition once and walks the words
	// with their block, paragraph and line numbers: everything a page needs
	// from one pass. Text() would recognise a second time and leaks the
	// page text it gets from Tesseract on every call. gosseract as
	// released leaks in this call too (each word's text and the result
	// iterator); the copy in third_party/gosseract frees them, see its
	// README.
	boxes, err := e.read(gosseract.PSM_AUTO)
	if err != nil {
		return nil, fmt.Errorf("tesseract: %w", err)
	}
	conf := meanConfidence(boxes)
	if conf >= osdBelow {
		return boxes, nil
	}
	// A page that reads badly may be sideways or upside down: read it again
	// with orientation and script detection, which turns it first, and keep
	// the better reading. (It needs osd.traineddata, which the layer
	// carries; without it Tesseract warns and reads as before.)
	//
	// Detecting the orientation alone first (OSD, a fraction of a reading)
	// would save an upright page that reads badly its second reading, but
	// OSD needs the page, and keeping it in Go through every recognition
	// for that raised an A4 page's peak from 98 to 112 MB (make bench's
	// memory figures). Upright pages of the corpus read under osdBelow
	// only when they hold no words (a blank page of the 3-page receipt
	// scan), whose second reading takes about 40 ms.
	turned, err := e.read(gosseract.PSM_AUTO_OSD)
	if err != nil {
		return nil, fmt.Errorf("tesseract: %w", err)
	}
	if meanConfidence(turned) > conf {
		return turned, nil
	}
	return boxes, nil
}

// osdBelow is the mean word confidence under which a page is read a second
// time with orientation detection. Automatic page segmentation with
// orientation and script detection (PSM 1) reads pages scanned sideways or
// upside down, which plain automatic segmentation (PSM 3, the tesseract
// CLI's default) reads as noise: on the corpus it took the clean pages from
// 0.18 to 0.016 mean CER (a page turned 90° from 0.82 to 0). But it costs
// about 15% of a full page's time (1.34 s against 1.13 s on an A4 page), on
// every page. Read with PSM 3, upright pages of the corpus score 0.51 to
// 0.96, the same pages turned 180° or 270° score 0.11 to 0.37 (90° the
// other way, Tesseract reads as vertical lines as well as upright): so
// pages under 0.5 are read again with PSM 1, which costs the worst pages a
// second reading and saves the rest the detection.
const osdBelow = 0.5

// read recognises the image set on the client with a page segmentation
// mode, and walks its words. e.mu must be held.
func (e *Engine) read(mode gosseract.PageSegMode) ([]gosseract.BoundingBox, error) {
	e.client.SetVariable("tessedit_pageseg_mode", strconv.Itoa(int(mode)))
	e.reads++
	now := reading.Add(1)
	for m := readingMax.Load(); now > m && !readingMax.CompareAndSwap(m, now); m = readingMax.Load() {
	}
	defer reading.Add(-1)
	return e.client.GetBoundingBoxesVerbose()
}

// reading counts the recognitions running in the process, and readingMax
// the most at once: for tests.
var reading, readingMax atomic.Int32

// meanConfidence is the words' mean confidence, 0–1, weighted by their
// length; 0 when there are none.
func meanConfidence(boxes []gosseract.BoundingBox) float64 {
	var sum, n float64
	for _, b := range boxes {
		w := float64(utf8.RuneCountInString(strings.TrimSpace(b.Word)))
		sum += b.Confidence / 100 * w
		n += w
	}
	if n == 0 {
		return 0
	}
	return sum / n
}

// Close frees the Tesseract client and its model. Recognize fails after it.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	var err error
	e.thread.stop(func() {
		if e.osd != nil {
			e.osd.close()
			e.osd = nil
		}
		if e.client != nil {
			err = e.client.Close()
			e.client = nil
		}
	})
	return err
}
