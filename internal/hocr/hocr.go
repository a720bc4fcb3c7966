// Package hocr renders a result as hOCR, the HTML microformat for OCR
// output that search indexers and PDF text-layer tools read. It is made from
// the stored lines and words, so serving it needs no second OCR pass.
package hocr

import (
	"bytes"
	"fmt"
	"html"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// Render returns the result as an hOCR 1.2 document.
func Render(r *ocr.Result) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
<head>
<title></title>
<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>
`)
	fmt.Fprintf(&b, "<meta name=\"ocr-system\" content=\"%s\"/>\n", html.EscapeString(r.Engine.Name+" "+r.Engine.Version))
	b.WriteString(`<meta name="ocr-capabilities" content="ocr_page ocr_line ocrx_word ocrp_wconf"/>
</head>
<body>
`)
	for _, p := range r.Pages {
		fmt.Fprintf(&b, "<div class=\"ocr_page\" id=\"page_%d\" title=\"bbox 0 0 %d %d; ppageno %d\">\n", p.Number, p.Width, p.Height, p.Number-1)
		for li, l := range p.Lines {
			fmt.Fprintf(&b, " <span class=\"ocr_line\" id=\"line_%d_%d\" title=\"%s\">", p.Number, li+1, bbox(l.BBox))
			for wi, w := range l.Words {
				if wi > 0 {
					b.WriteByte(' ')
				}
				fmt.Fprintf(&b, "<span class=\"ocrx_word\" id=\"word_%d_%d_%d\" title=\"%s; x_wconf %d\">%s</span>",
					p.Number, li+1, wi+1, bbox(w.BBox), int(w.Confidence*100+0.5), html.EscapeString(w.Text))
			}
			if len(l.Words) == 0 {
				b.WriteString(html.EscapeString(l.Text))
			}
			b.WriteString("</span>\n")
		}
		b.WriteString("</div>\n")
	}
	b.WriteString("</body>\n</html>\n")
	return b.Bytes()
}

func bbox(x ocr.BBox) string { return fmt.Sprintf("bbox %d %d %d %d", x[0], x[1], x[2], x[3]) }
