package searchpdf

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"unicode/utf16"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// glyphless is Tesseract's GlyphLessFont (tessdata's pdf.ttf, Apache-2.0,
// 572 bytes): a TrueType font whose one glyph draws nothing. The text layer
// is drawn invisibly in it, as Tesseract's PDF renderer does, so that
// viewers need no font of their own and every character has the same known
// width.
//
//go:embed glyphless.ttf
var glyphless []byte

// Font metrics of the text layer, in thousandths of the font size. Every
// character is charWidth wide (the font's /DW), and a word's box runs from
// descent below its baseline to ascent above it, which is where poppler
// (pdftotext -bbox) puts it: ascent+descent is the whole size, so a word
// drawn at its box's height in points fills its box.
const (
	charWidth = 500
	ascent    = 800
	descent   = 200
)

// fontResource is the font's name in a page's resources.
const fontResource = "/F1"

// writeFont writes the font objects every page shares and returns the
// Type0 font's object number.
func (pw *writer) writeFont() int {
	font, cid, gids, toUnicode, desc, file := pw.alloc(), pw.alloc(), pw.alloc(), pw.alloc(), pw.alloc(), pw.alloc()
	pw.object(font, fmt.Sprintf("<< /Type /Font /Subtype /Type0 /BaseFont /GlyphLessFont /Encoding /Identity-H /DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>", cid, toUnicode))
	pw.object(cid, fmt.Sprintf("<< /Type /Font /Subtype /CIDFontType2 /BaseFont /GlyphLessFont /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor %d 0 R /CIDToGIDMap %d 0 R /DW %d >>", desc, gids, charWidth))
	// Every character code (a UTF-16 code unit, Identity-H) is drawn with
	// glyph 1, the font's blank glyph.
	pw.flateStream(gids, "", func(z io.Writer) error {
		m := make([]byte, 2<<16)
		for k := 1; k < len(m); k += 2 {
			m[k] = 1
		}
		_, err := z.Write(m)
		return err
	})
	// A code is its own UTF-16 unit: the text is read back as written.
	pw.stream(toUnicode, "", []byte(`/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
/CMapName /Adobe-Identity-UCS def
/CMapType 2 def
1 begincodespacerange
<0000> <FFFF>
endcodespacerange
1 beginbfrange
<0000> <FFFF> <0000>
endbfrange
endcmap
CMapName currentdict /CMap defineresource pop
end
end`))
	pw.object(desc, fmt.Sprintf("<< /Type /FontDescriptor /FontName /GlyphLessFont /Flags 5 /FontBBox [0 %d %d %d] /ItalicAngle 0 /Ascent %d /Descent %d /CapHeight %d /StemV 80 /FontFile2 %d 0 R >>",
		-descent, charWidth, ascent, ascent, -descent, ascent, file))
	pw.stream(file, fmt.Sprintf("/Length1 %d", len(glyphless)), glyphless)
	return font
}

// page geometry: how a result page's pixels become points on a PDF page.
type geometry struct {
	sx, sy float64 // points per result pixel, across and down
	height float64 // page height in points
}

// textLayer writes the invisible text of page p, leaving out the words
// whose boxes meet one of redact, to buf as content-stream operators.
//
// Each word is drawn on its own at its box, as Tesseract's renderer does: a
// font size that makes the word as tall as its box, its baseline where that
// puts the box's bottom, and a horizontal scaling (Tz) that makes it as wide
// as its box. Text render mode 3 draws nothing but keeps the text
// searchable and selectable. Words go out line by line in the result's
// order, the order text extraction reads them back in.
func textLayer(buf *bytes.Buffer, p *ocr.Page, g geometry, redact []ocr.BBox) {
	buf.WriteString("BT 3 Tr\n")
	for _, l := range p.Lines {
		for _, w := range l.Words {
			if covered(w.BBox, redact) {
				continue
			}
			units := utf16.Encode([]rune(w.Text))
			b := w.BBox
			width := float64(b[2]-b[0]) * g.sx
			size := float64(b[3]-b[1]) * g.sy
			if len(units) == 0 || width <= 0 || size <= 0 {
				continue
			}
			x := float64(b[0]) * g.sx
			base := g.height - float64(b[3])*g.sy + size*descent/1000
			scale := 100 * width / (size * float64(len(units)) * charWidth / 1000)
			fmt.Fprintf(buf, "%s %s Tf %s Tz 1 0 0 1 %s %s Tm <", fontResource, num(size), num(scale), num(x), num(base))
			for _, u := range units {
				fmt.Fprintf(buf, "%04X", u)
			}
			buf.WriteString("> Tj\n")
		}
	}
	buf.WriteString("ET\n")
}

// covered reports whether box b meets any of boxes in an area: a word even
// partly under a redaction is left out whole, since the part not covered
// would still give the rest away.
func covered(b ocr.BBox, boxes []ocr.BBox) bool {
	for _, r := range boxes {
		if min(b[2], r[2]) > max(b[0], r[0]) && min(b[3], r[3]) > max(b[1], r[1]) {
			return true
		}
	}
	return false
}
