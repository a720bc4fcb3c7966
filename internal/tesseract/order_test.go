package tesseract

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/otiai10/gosseract/v2"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/s3ocr/s3ocr/internal/eval"
	"github.com/s3ocr/s3ocr/internal/ocr"
)

// A synthetic A4 page at 300 dpi, set in Go Regular, as internal/bench
// draws its page.
const (
	synthWidth  = 2480
	synthHeight = 3508
	synthMargin = 250
)

type synthPage struct {
	img  *image.Gray
	face font.Face
}

func newSynthPage(t testing.TB, points float64) *synthPage {
	t.Helper()
	f, err := opentype.Parse(goregular.TTF)
	if err != nil {
		t.Fatal(err)
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: points, DPI: 300, Hinting: font.HintingFull})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { face.Close() })
	img := image.NewGray(image.Rect(0, 0, synthWidth, synthHeight))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	return &synthPage{img: img, face: face}
}

func (p *synthPage) lineHeight() int { return (p.face.Metrics().Height * 6 / 5).Ceil() }

// text draws s with its baseline starting at x, y.
func (p *synthPage) text(x, y int, s string) {
	d := font.Drawer{Dst: p.img, Src: image.NewUniform(color.Black), Face: p.face, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// rightText draws s with its baseline ending at x, y.
func (p *synthPage) rightText(x, y int, s string) {
	p.text(x-font.MeasureString(p.face, s).Ceil(), y, s)
}

// column wraps paragraphs into a column w wide whose first baseline is at
// x, y, a blank line between paragraphs.
func (p *synthPage) column(x, y, w int, paras []string) {
	space := font.MeasureString(p.face, " ")
	for i, para := range paras {
		if i > 0 {
			y += p.lineHeight()
		}
		var line []string
		width := fixed.Int26_6(0)
		for _, word := range strings.Fields(para) {
			adv := font.MeasureString(p.face, word)
			if len(line) > 0 && width+space+adv > fixed.I(w) {
				p.text(x, y, strings.Join(line, " "))
				y += p.lineHeight()
				line, width = nil, 0
			}
			if len(line) > 0 {
				width += space
			}
			line = append(line, word)
			width += adv
		}
		p.text(x, y, strings.Join(line, " "))
		y += p.lineHeight()
	}
}

// Two texts with no word in common, so that where each word lands tells
// which column it came from.
var (
	townProse = []string{
		"The river town woke slowly in the grey light of autumn. Fishermen carried their nets down to the harbour while the baker opened his shutters and set out bread on the wooden shelves. Children ran along the narrow streets toward the school near the old church, and their voices echoed from the stone walls.",
		"By noon the market square was full of traders selling apples, cheese, honey and wool. Farmers from the hills argued about prices and the weather, and the mayor walked among them with his hands behind his back, listening more than he spoke.",
	}
	batteryProse = []string{
		"Modern batteries store energy in chemical form and release it as electric current whenever a circuit is closed. Engineers measure capacity in ampere hours and power in watts, and they test every cell for heat, voltage and internal resistance before it leaves any factory.",
		"Recycling these cells recovers lithium, cobalt and nickel, which lowers what new batteries cost and reduces damage that mining causes to forests, rivers and people living nearby.",
	}
)

// readSynth reads a synthetic page with the engine.
func readSynth(t *testing.T, p *synthPage) *ocr.Page {
	t.Helper()
	page, err := newEngine(t).Recognize(context.Background(), p.img, nil)
	if err != nil {
		t.Fatal(err)
	}
	return page
}

// firstAndLast gives the positions in text, its spaces and newlines made
// single spaces, of the first and last words of paras, -1 if missing.
func firstAndLast(text string, paras []string) (first, last int) {
	text = strings.Join(strings.Fields(text), " ")
	words := strings.Fields(strings.Join(paras, " "))
	first = strings.Index(text, strings.Join(words[:3], " "))
	tail := strings.Join(words[len(words)-2:], " ")
	last = strings.LastIndex(text, tail)
	return first, last
}

func TestRecognize_TwoColumnsReadColumnAfterColumn(t *testing.T) {
	// Lines of the two columns share their baselines, as in typeset
	// columns, which makes each pair of lines look like a table's row.
	p := newSynthPage(t, 10)
	y := synthMargin + 60
	p.text(synthMargin, y, "Notes from the field")
	y += 2 * p.lineHeight()
	gutter := 100 // px, a third of an inch
	w := (synthWidth - 2*synthMargin - gutter) / 2
	p.column(synthMargin, y, w, townProse)
	p.column(synthMargin+w+gutter, y, w, batteryProse)

	text := readSynth(t, p).Text
	l0, l1 := firstAndLast(text, townProse)
	r0, r1 := firstAndLast(text, batteryProse)
	if !strings.HasPrefix(text, "Notes from the field") || l0 < 0 || r0 < 0 || !(l0 < l1 && l1 < r0 && r0 < r1) {
		t.Errorf("want the heading, the left column, then the right column; read:\n%s", text)
	}
}

func TestRecognize_ThreeColumnsReadColumnAfterColumn(t *testing.T) {
	p := newSynthPage(t, 10)
	y := synthMargin + 60
	gutter := 50 // px, a sixth of an inch
	w := (synthWidth - 2*synthMargin - 2*gutter) / 3
	p.column(synthMargin, y, w, townProse[:1])
	p.column(synthMargin+w+gutter, y+30, w, batteryProse) // a little lower
	p.column(synthMargin+2*(w+gutter), y, w, townProse[1:])

	text := readSynth(t, p).Text
	a0, a1 := firstAndLast(text, townProse[:1])
	b0, b1 := firstAndLast(text, batteryProse)
	c0, c1 := firstAndLast(text, townProse[1:])
	if a0 < 0 || b0 < 0 || c0 < 0 || !(a0 < a1 && a1 < b0 && b0 < b1 && b1 < c0 && c0 < c1) {
		t.Errorf("want the columns left to right; read:\n%s", text)
	}
}

// invoiceRows are a table's rows: a label on the left, an amount right
// aligned far to its right.
var invoiceRows = [][2]string{
	{"Office chairs, black", "1,240.00"},
	{"Standing desk", "689.50"},
	{"Monitor arm", "74.99"},
	{"Delivery and assembly", "120.00"},
	{"Cable trays", "38.40"},
	{"Desk lamps, warm white", "92.00"},
	{"Whiteboard, large", "210.75"},
	{"Coat stand", "45.10"},
	{"Subtotal", "2,510.74"},
	{"Value added tax", "477.04"},
	{"Total due", "2,987.78"},
}

func TestRecognize_TableReadRowByRow(t *testing.T) {
	// Tesseract reads this page as two blocks: every label, then every
	// amount.
	p := newSynthPage(t, 11)
	y := synthMargin + 60
	p.text(synthMargin, y, "Invoice 2024-117")
	y += 2 * p.lineHeight()
	for _, r := range invoiceRows {
		p.text(synthMargin, y, r[0])
		p.rightText(synthWidth-synthMargin, y, r[1])
		y += p.lineHeight()
	}

	page := readSynth(t, p)
	for _, r := range invoiceRows {
		want := r[0] + " " + r[1]
		if !slices.ContainsFunc(page.Lines, func(l ocr.Line) bool { return l.Text == want }) {
			t.Errorf("no line %q; read:\n%s", want, page.Text)
		}
	}
	for _, l := range page.Lines {
		for _, w := range l.Words {
			if w.BBox[0] < l.BBox[0] || w.BBox[2] > l.BBox[2] {
				t.Errorf("word %q %v outside its line %v", w.Text, w.BBox, l.BBox)
			}
		}
	}
}

func TestRecognize_SingleColumnKeepsTesseractOrder(t *testing.T) {
	p := newSynthPage(t, 11)
	p.column(synthMargin, synthMargin+60, synthWidth-2*synthMargin, append(slices.Clone(townProse), batteryProse...))
	e := newEngine(t)
	boxes, err := e.recognize(pgmOf(p.img), DefaultDPI, DefaultLanguage)
	if err != nil {
		t.Fatal(err)
	}
	lines, _ := tesseractLines(boxes)
	if got := readingOrder(slices.Clone(lines)); !slices.EqualFunc(got, lines, func(a, b textLine) bool {
		return a.Text == b.Text && a.newPara == b.newPara
	}) {
		t.Errorf("the order changed: %d lines from %d", len(got), len(lines))
	}
}

// line makes a textLine of words, one box each, side by side from x at
// height y, 30 px tall.
func line(blockNum, x, y int, words ...string) textLine {
	l := textLine{block: blockNum}
	for i, w := range words {
		b := ocr.BBox{x, y, x + 20*len(w), y + 30}
		x = b[2] + 15
		l.Words = append(l.Words, ocr.Word{Text: w, Confidence: 0.9, BBox: b})
		if i == 0 {
			l.BBox = b
		} else {
			l.BBox = union(l.BBox, b)
		}
	}
	l.Text = strings.Join(words, " ")
	l.Confidence = 0.9
	return l
}

// proseBlock makes n lines of six words in a block from x at y, 40 px apart.
func proseBlock(blockNum, x, y, n int, tag string) []textLine {
	var out []textLine
	for i := range n {
		w := fmt.Sprintf("%s%d", tag, i)
		out = append(out, line(blockNum, x, y+40*i, w, w, w, w, w, w))
	}
	out[0].newPara = true
	return out
}

func texts(lines []textLine) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.Text
	}
	return out
}

func TestReadingOrder(t *testing.T) {
	cat := func(ls ...[]textLine) []textLine { return slices.Concat(ls...) }
	tests := []struct {
		name  string
		lines []textLine
		want  []string
	}{{
		name: "columns interleaved by Tesseract are read column by column",
		// Left and right paragraphs end at the same height, and
		// Tesseract listed them across: left, right, left, right.
		lines: cat(proseBlock(1, 0, 0, 4, "a"), proseBlock(2, 1000, 0, 4, "c"), proseBlock(3, 0, 200, 4, "b"), proseBlock(4, 1000, 200, 4, "d")),
		want:  texts(cat(proseBlock(1, 0, 0, 4, "a"), proseBlock(3, 0, 200, 4, "b"), proseBlock(2, 1000, 0, 4, "c"), proseBlock(4, 1000, 200, 4, "d"))),
	}, {
		name: "a headline across the columns ends one run of columns",
		lines: cat(proseBlock(1, 0, 0, 4, "a"), proseBlock(2, 1000, 0, 4, "b"), []textLine{line(3, 200, 170, "Headline", "running", "across", "both", "columns", "of", "the", "page")},
			proseBlock(4, 0, 220, 4, "c"), proseBlock(5, 1000, 220, 4, "d")),
		want: texts(cat(proseBlock(1, 0, 0, 4, "a"), proseBlock(2, 1000, 0, 4, "b"), []textLine{line(3, 200, 170, "Headline", "running", "across", "both", "columns", "of", "the", "page")},
			proseBlock(4, 0, 220, 4, "c"), proseBlock(5, 1000, 220, 4, "d"))),
	}, {
		name: "a caption across the gutter follows the columns, a footer stays last",
		lines: cat([]textLine{line(1, 400, -100, "dateline")}, proseBlock(2, 0, 0, 10, "a"), []textLine{line(3, 0, 600, "page", "54")},
			[]textLine{line(4, 700, 300, "THE", "CAPTION")}, proseBlock(5, 1000, 0, 10, "b")),
		want: []string{"dateline", "a0 a0 a0 a0 a0 a0"},
	}, {
		name:  "a table's column blocks are merged row by row",
		lines: cat([]textLine{line(1, 0, 0, "Rent"), line(1, 0, 40, "Water", "rates"), line(1, 0, 80, "Total")}, []textLine{line(2, 900, 2, "800.00"), line(2, 900, 42, "31.50"), line(2, 900, 82, "831.50")}),
		want:  []string{"Rent 800.00", "Water rates 31.50", "Total 831.50"},
	}, {
		name: "a table's wrapped description keeps its lines",
		lines: cat([]textLine{line(1, 0, 0, "Hosting", "plan"), line(1, 0, 40, "per", "month"), line(1, 0, 80, "Domain"), line(1, 0, 120, "per", "year")},
			[]textLine{line(2, 900, 0, "5,39"), line(2, 900, 80, "9,00")}),
		want: []string{"Hosting plan 5,39", "per month", "Domain 9,00", "per year"},
	}, {
		name:  "blocks above one another are left alone",
		lines: cat([]textLine{line(1, 0, 0, "Total"), line(2, 0, 40, "800.00")}),
		want:  []string{"Total", "800.00"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := texts(readingOrder(tt.lines))
			if tt.name == "a caption across the gutter follows the columns, a footer stays last" {
				// Only the sequence of blocks matters here.
				want := []string{"dateline"}
				want = append(want, texts(proseBlock(2, 0, 0, 10, "a"))...)
				want = append(want, texts(proseBlock(5, 1000, 0, 10, "b"))...)
				want = append(want, "THE CAPTION", "page 54")
				tt.want = want
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestReadingOrder_MergedRowKeepsWordBoxes(t *testing.T) {
	in := []textLine{line(1, 0, 0, "Total", "due"), line(2, 900, 3, "831.50")}
	got := readingOrder(slices.Clone(in))
	if len(got) != 1 {
		t.Fatalf("%d lines, want 1", len(got))
	}
	want := append(slices.Clone(in[0].Words), in[1].Words...)
	if !slices.Equal(got[0].Words, want) || got[0].BBox != union(in[0].BBox, in[1].BBox) {
		t.Errorf("got %+v", got[0])
	}
}

func TestReadingOrder_RightToLeftKeepsTesseractOrder(t *testing.T) {
	in := []textLine{line(1, 0, 0, "المجموع"), line(2, 900, 0, "٨٣١")}
	if got := readingOrder(slices.Clone(in)); len(got) != 2 {
		t.Errorf("got %v", texts(got))
	}
}

// TestCorpus_ReadingOrder reads every OCR'd page of the corpus once and
// scores it twice: in Tesseract's order and in readingOrder's, with CER
// and WER per kind and for each document whose text changed. It fails if
// the order makes any kind worse. $S3OCR_RENDERED names a directory of
// PNGs of the corpus's text PDFs (NAME-1.png…, pdftoppm -r 300), read as
// scans and scored as kind "scan of pdf-text".
func TestCorpus_ReadingOrder(t *testing.T) {
	dir, docs := corpusDocs(t)
	e := newEngine(t)
	type row struct {
		doc      eval.Doc
		cer, wer [2]float64
	}
	var rows []row
	read := func(doc eval.Doc, img image.Image, texts *[2][]string) {
		b := img.Bounds()
		u, unknownDPI := img.(ocr.UnknownResolution)
		if unknownDPI {
			img = u.Image
		}
		p := e.prepare(img, unknownDPI)
		var boxes []gosseract.BoundingBox
		var err error
		e.mu.Lock()
		e.thread.run(func() { boxes, err = e.recognize(p.page, p.dpi, strings.Join(doc.Languages, "+")) })
		e.mu.Unlock()
		if err != nil {
			t.Fatalf("%s: %v", doc.File, err)
		}
		if p.scale != 1 {
			unscaleBoxes(boxes, p.scale, b.Dx(), b.Dy())
		}
		lines, conf := tesseractLines(boxes)
		texts[0] = append(texts[0], layoutPage(b.Dx(), b.Dy(), slices.Clone(lines), conf).Text)
		texts[1] = append(texts[1], layoutPage(b.Dx(), b.Dy(), readingOrder(lines), conf).Text)
	}
	for _, doc := range docs {
		var texts [2][]string
		eachPage(t, filepath.Join(dir, doc.File), func(_ int, img image.Image, text *ocr.Page) {
			if text == nil {
				read(doc, img, &texts)
			}
		})
		if len(texts[0]) == 0 {
			continue // a text layer: internal/pdf orders it
		}
		r := row{doc: doc}
		for m := range texts {
			r.cer[m], r.wer[m] = score(t, dir, doc, strings.Join(texts[m], "\f"))
		}
		rows = append(rows, r)
	}
	if rendered := os.Getenv("S3OCR_RENDERED"); rendered != "" {
		for _, doc := range docs {
			stem := strings.TrimSuffix(doc.File, filepath.Ext(doc.File))
			pngs, _ := filepath.Glob(filepath.Join(rendered, stem+"-*.png"))
			if doc.Kind != "pdf-text" || len(pngs) == 0 {
				continue
			}
			slices.Sort(pngs)
			var texts [2][]string
			for _, f := range pngs {
				read(doc, decodeFile(t, f), &texts)
			}
			r := row{doc: doc}
			r.doc.Kind = "scan of pdf-text"
			for m := range texts {
				r.cer[m], r.wer[m] = score(t, dir, doc, strings.Join(texts[m], "\f"))
			}
			rows = append(rows, r)
		}
	}

	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tdocs\tTesseract's order CER\treading order CER\tTesseract's order WER\treading order WER\t")
	var kinds []string
	for _, r := range rows {
		if !slices.Contains(kinds, r.doc.Kind) {
			kinds = append(kinds, r.doc.Kind)
		}
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		var n float64
		var c, w [2]float64
		for _, r := range rows {
			if r.doc.Kind == k {
				n++
				for m := range 2 {
					c[m] += r.cer[m]
					w[m] += r.wer[m]
				}
			}
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.4f\t%.4f\t%.4f\t%.4f\t\n", k, n, c[0]/n, c[1]/n, w[0]/n, w[1]/n)
		if c[1] > c[0]+1e-9 {
			t.Errorf("%s: reading order took the mean CER from %.4f to %.4f", k, c[0]/n, c[1]/n)
		}
	}
	tw.Flush()
	b.WriteString("\nchanged:\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, r := range rows {
		if r.cer[0] != r.cer[1] || r.wer[0] != r.wer[1] {
			fmt.Fprintf(tw, "%s\t%s\t%.4f → %.4f\t%.4f → %.4f\t\n", r.doc.File, r.doc.Kind, r.cer[0], r.cer[1], r.wer[0], r.wer[1])
		}
	}
	tw.Flush()
	t.Log("\n" + b.String())
}
