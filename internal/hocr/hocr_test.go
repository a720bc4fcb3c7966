package hocr_test

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/s3ocr/s3ocr/internal/hocr"
	"github.com/s3ocr/s3ocr/internal/ocr"
)

func TestRender_IsWellFormedHOCRWithBoxesAndConfidences(t *testing.T) {
	res := &ocr.Result{Engine: ocr.EngineInfo{Name: "tesseract", Version: "5.3.0"}, Pages: []ocr.Page{{
		Number: 1, Width: 800, Height: 600,
		Lines: []ocr.Line{{Text: "Fish & <Chips>", BBox: ocr.BBox{10, 20, 300, 50}, Words: []ocr.Word{
			{Text: "Fish", Confidence: 0.96, BBox: ocr.BBox{10, 20, 90, 50}},
			{Text: "&", Confidence: 0.5, BBox: ocr.BBox{100, 20, 120, 50}},
			{Text: "<Chips>", Confidence: 0.914, BBox: ocr.BBox{130, 20, 300, 50}},
		}}},
	}}}
	out := hocr.Render(res)
	// Well-formed XML, so XHTML tools can parse it (escaping included).
	dec := xml.NewDecoder(strings.NewReader(string(out)))
	dec.Strict = true
	dec.Entity = xml.HTMLEntity
	for {
		if _, err := dec.Token(); err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("not well-formed: %v\n%s", err, out)
		}
	}
	for _, want := range []string{
		`<meta name="ocr-system" content="tesseract 5.3.0"/>`,
		`class="ocr_page" id="page_1" title="bbox 0 0 800 600; ppageno 0"`,
		`class="ocr_line" id="line_1_1" title="bbox 10 20 300 50"`,
		`title="bbox 10 20 90 50; x_wconf 96">Fish</span>`,
		`x_wconf 50">&amp;</span>`,
		`x_wconf 91">&lt;Chips&gt;</span>`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("hOCR lacks %s\n%s", want, out)
		}
	}
}
