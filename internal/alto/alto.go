// Package alto renders a result as ALTO v4 XML, the layout format libraries
// and archives keep OCR in (OCR-D, METS/ALTO digitisation). Like hOCR it is
// made from the stored lines and words, so serving it needs no second OCR
// pass, and it is written page by page, so a long document is never held
// twice in memory.
//
// The elements and attributes are those Tesseract's own ALTO renderer writes
// (Description, Layout, Page, PrintSpace, TextBlock, TextLine, String, SP),
// in the ALTO v4 namespace where Tesseract, as of 5.x, still writes v3.
package alto

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// Namespace is the ALTO v4 namespace of the root element.
const Namespace = "http://www.loc.gov/standards/alto/ns-v4#"

// SchemaLocation pairs the namespace with the newest v4 schema, as Tesseract
// pairs ns-v3 with alto-3-0.xsd.
const SchemaLocation = Namespace + " http://www.loc.gov/standards/alto/v4/alto-4-4.xsd"

// Render returns the result as an ALTO v4 document.
func Render(r *ocr.Result) []byte {
	var b bytes.Buffer
	_ = Write(&b, r) // a bytes.Buffer does not fail
	return b.Bytes()
}

// Write writes the result to w as an ALTO v4 document, flushing after each
// page. It returns the first error w returns.
func Write(w io.Writer, r *ocr.Result) error {
	return WritePages(context.Background(), w, r.Engine, ocr.ResultPages(r))
}

// WritePages writes the pages to w as an ALTO v4 document made by engine,
// reading them one at a time from the first and flushing after each. It
// returns the first error pages or w returns, a page's wrapped with its
// number.
func WritePages(ctx context.Context, w io.Writer, engine ocr.EngineInfo, pages ocr.PageReader) error {
	b := bufio.NewWriter(w)
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<alto xmlns="` + Namespace + `" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="` + SchemaLocation + `">
	<Description>
		<MeasurementUnit>pixel</MeasurementUnit>
		<sourceImageInformation/>
		<OCRProcessing ID="OCR_0">
			<ocrProcessingStep>
				<processingSoftware>
					<softwareName>`)
	escape(b, engine.Name)
	b.WriteString("</softwareName>\n\t\t\t\t\t<softwareVersion>")
	escape(b, engine.Version)
	b.WriteString(`</softwareVersion>
				</processingSoftware>
			</ocrProcessingStep>
		</OCRProcessing>
	</Description>
	<Layout>
`)
	for n := 1; n <= pages.Pages(); n++ {
		p, err := pages.Page(ctx, n)
		if err != nil {
			return fmt.Errorf("page %d: %w", n, err)
		}
		writePage(b, p)
		if err := b.Flush(); err != nil {
			return err
		}
	}
	b.WriteString("\t</Layout>\n</alto>\n")
	return b.Flush()
}

// writePage writes one Page. IDs carry the page number, so that they are
// unique in the document as xsd:ID requires; PHYSICAL_IMG_NR counts from 1,
// as METS orders pages, where Tesseract writes its 0-based image index.
func writePage(b *bufio.Writer, p *ocr.Page) {
	n := strconv.Itoa(p.Number)
	b.WriteString("\t\t<Page ID=\"page_" + n + "\" PHYSICAL_IMG_NR=\"" + n + "\"")
	// WIDTH and HEIGHT are optional in ALTO; a page of unknown size says
	// nothing rather than 0.
	if p.Width > 0 && p.Height > 0 {
		b.WriteString(" WIDTH=\"" + strconv.Itoa(p.Width) + "\" HEIGHT=\"" + strconv.Itoa(p.Height) + "\">\n")
		b.WriteString("\t\t\t<PrintSpace HPOS=\"0\" VPOS=\"0\" WIDTH=\"" + strconv.Itoa(p.Width) + "\" HEIGHT=\"" + strconv.Itoa(p.Height) + "\">\n")
	} else {
		b.WriteString(">\n\t\t\t<PrintSpace>\n")
	}
	lines := make([]*ocr.Line, 0, len(p.Lines))
	for i := range p.Lines {
		if len(words(&p.Lines[i])) > 0 {
			lines = append(lines, &p.Lines[i])
		}
	}
	var blockNr, lineNr, stringNr int
	for _, block := range blocks(lines) {
		box := lines[block[0]].BBox
		for _, l := range lines[block[0]+1 : block[1]] {
			box = union(box, l.BBox)
		}
		b.WriteString("\t\t\t\t<TextBlock ID=\"" + id("block", n, &blockNr) + "\"" + position(box) + ">\n")
		for _, l := range lines[block[0]:block[1]] {
			writeLine(b, l, id("line", n, &lineNr), func() string { return id("string", n, &stringNr) })
		}
		b.WriteString("\t\t\t\t</TextBlock>\n")
	}
	b.WriteString("\t\t\t</PrintSpace>\n\t\t</Page>\n")
}

// writeLine writes a TextLine with a String per word and an SP between
// words, placed as Tesseract places it: from the end of one word to the
// start of the next, at the first word's top.
func writeLine(b *bufio.Writer, l *ocr.Line, lineID string, stringID func() string) {
	b.WriteString("\t\t\t\t\t<TextLine ID=\"" + lineID + "\"" + position(l.BBox) + ">\n")
	ws := words(l)
	for i, w := range ws {
		b.WriteString("\t\t\t\t\t\t<String ID=\"" + stringID() + "\"" + position(w.BBox) + " WC=\"" + wc(w.Confidence) + "\" CONTENT=\"")
		escape(b, w.Text)
		b.WriteString("\"/>")
		if i+1 < len(ws) {
			b.WriteString("<SP WIDTH=\"" + strconv.Itoa(max(0, ws[i+1].BBox[0]-w.BBox[2])) + "\" HPOS=\"" + strconv.Itoa(w.BBox[2]) + "\" VPOS=\"" + strconv.Itoa(w.BBox[1]) + "\"/>")
		}
		b.WriteByte('\n')
	}
	b.WriteString("\t\t\t\t\t</TextLine>\n")
}

// words are the Strings of a line: its words with text, or, for a line
// stored without words, the line itself as one String, since a TextLine
// must hold at least one.
func words(l *ocr.Line) []ocr.Word {
	ws := make([]ocr.Word, 0, len(l.Words))
	for _, w := range l.Words {
		if w.Text != "" {
			ws = append(ws, w)
		}
	}
	if len(l.Words) == 0 && l.Text != "" {
		ws = append(ws, ocr.Word{Text: l.Text, Confidence: l.Confidence, BBox: l.BBox})
	}
	return ws
}

// blocks groups consecutive lines into TextBlocks, as [start, end) index
// pairs. Our results keep lines but not Tesseract's blocks, so a block is
// rebuilt from the geometry: the next line starts a new block when it lies
// more than one median line height below the previous line, goes back up
// by more than half of one (a new column or region), or shares no
// horizontal extent with it. Measured with Tesseract 5.3 on phototest,
// kant_1784_p0020 and unlv_mag_8087_054: lines of one paragraph are 0.1–0.6
// of the median line height apart, changes of region 1.05 or more, so the
// blocks are regions rather than paragraphs (a paragraph marked only by
// indentation stays in its block).
func blocks(lines []*ocr.Line) [][2]int {
	if len(lines) == 0 {
		return nil
	}
	hs := make([]int, len(lines))
	for i, l := range lines {
		hs[i] = l.BBox[3] - l.BBox[1]
	}
	slices.Sort(hs)
	median := hs[len(hs)/2]
	var out [][2]int
	start := 0
	for i := 1; i < len(lines); i++ {
		prev, l := lines[i-1].BBox, lines[i].BBox
		gap := l[1] - prev[3]
		overlap := min(l[2], prev[2]) - max(l[0], prev[0])
		if gap > median || 2*gap < -median || overlap <= 0 {
			out = append(out, [2]int{start, i})
			start = i
		}
	}
	return append(out, [2]int{start, len(lines)})
}

// id numbers the elements of one page: block_<page>_<n>, line_<page>_<n>,
// string_<page>_<n>, each counted from 1.
func id(kind, page string, n *int) string {
	*n++
	return kind + "_" + page + "_" + strconv.Itoa(*n)
}

func position(x ocr.BBox) string {
	return " HPOS=\"" + strconv.Itoa(x[0]) + "\" VPOS=\"" + strconv.Itoa(x[1]) +
		"\" WIDTH=\"" + strconv.Itoa(x[2]-x[0]) + "\" HEIGHT=\"" + strconv.Itoa(x[3]-x[1]) + "\""
}

// wc writes a confidence with two decimals, as Tesseract does, kept in the
// 0–1 range ALTO allows.
func wc(c float64) string {
	return strconv.FormatFloat(math.Round(max(0, min(1, c))*100)/100, 'f', -1, 64)
}

func union(a, b ocr.BBox) ocr.BBox {
	return ocr.BBox{min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])}
}

// escape writes s as XML character data that is also safe inside a quoted
// attribute: xml.EscapeText escapes quotes and line breaks, and replaces
// characters XML 1.0 does not allow (most C0 controls, invalid UTF-8) with
// U+FFFD.
func escape(b *bufio.Writer, s string) {
	_ = xml.EscapeText(b, []byte(s)) // a bufio.Writer keeps its error for Flush
}
