// Package hocr renders a result as hOCR, the HTML microformat for OCR
// output that search indexers and PDF text-layer tools read. It is made from
// the stored lines and words, so serving it needs no second OCR pass, and
// WritePages writes it page by page, so a long document is never held in
// memory.
package hocr

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"html"
	"io"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// Render returns the result as an hOCR 1.2 document.
func Render(r *ocr.Result) []byte {
	var b bytes.Buffer
	// A bytes.Buffer does not fail, nor do a result's own pages.
	_ = WritePages(context.Background(), &b, r.Engine, ocr.ResultPages(r))
	return b.Bytes()
}

// WritePages writes the pages as an hOCR 1.2 document made by engine,
// reading them one at a time from the first and flushing after each. It
// returns the first error pages or w returns, a page's wrapped with its
// number.
func WritePages(ctx context.Context, w io.Writer, engine ocr.EngineInfo, pages ocr.PageReader) error {
	b := bufio.NewWriter(w)
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
<head>
<title></title>
<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>
`)
	fmt.Fprintf(b, "<meta name=\"ocr-system\" content=\"%s\"/>\n", html.EscapeString(engine.Name+" "+engine.Version))
	b.WriteString(`<meta name="ocr-capabilities" content="ocr_page ocr_line ocrx_word ocrp_wconf"/>
</head>
<body>
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
	b.WriteString("</body>\n</html>\n")
	return b.Flush()
}

// writePage writes one ocr_page div. A bufio.Writer keeps its first error
// for Flush.
func writePage(b *bufio.Writer, p *ocr.Page) {
	fmt.Fprintf(b, "<div class=\"ocr_page\" id=\"page_%d\" title=\"bbox 0 0 %d %d; ppageno %d\">\n", p.Number, p.Width, p.Height, p.Number-1)
	for li, l := range p.Lines {
		fmt.Fprintf(b, " <span class=\"ocr_line\" id=\"line_%d_%d\" title=\"%s\">", p.Number, li+1, bbox(l.BBox))
		for wi, w := range l.Words {
			if wi > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(b, "<span class=\"ocrx_word\" id=\"word_%d_%d_%d\" title=\"%s; x_wconf %d\">%s</span>",
				p.Number, li+1, wi+1, bbox(w.BBox), int(w.Confidence*100+0.5), html.EscapeString(w.Text))
		}
		if len(l.Words) == 0 {
			b.WriteString(html.EscapeString(l.Text))
		}
		b.WriteString("</span>\n")
	}
	b.WriteString("</div>\n")
}

func bbox(x ocr.BBox) string { return fmt.Sprintf("bbox %d %d %d %d", x[0], x[1], x[2], x[3]) }
