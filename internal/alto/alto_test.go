package alto_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/s3ocr/s3ocr/internal/alto"
	"github.com/s3ocr/s3ocr/internal/ocr"
)

// node is an element of a parsed document, by local names.
type node struct {
	Space, Name string
	Attr        map[string]string
	Kids        []*node
}

// parse reads data strictly, failing the test when it is not well-formed XML.
func parse(t *testing.T, data []byte) *node {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	root := &node{}
	stack := []*node{root}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, data)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &node{Space: tok.Name.Space, Name: tok.Name.Local, Attr: map[string]string{}}
			for _, a := range tok.Attr {
				if a.Name.Space != "xmlns" && a.Name.Local != "xmlns" {
					n.Attr[a.Name.Local] = a.Value
				}
			}
			top := stack[len(stack)-1]
			top.Kids = append(top.Kids, n)
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if len(root.Kids) != 1 {
		t.Fatalf("%d root elements", len(root.Kids))
	}
	return root.Kids[0]
}

// all returns the elements named name below n, in document order.
func (n *node) all(name string) []*node {
	var out []*node
	for _, k := range n.Kids {
		if k.Name == name {
			out = append(out, k)
		}
		out = append(out, k.all(name)...)
	}
	return out
}

// shape maps each element name to the names of the attributes it carries.
func (n *node) shape(into map[string]map[string]bool) {
	if into[n.Name] == nil {
		into[n.Name] = map[string]bool{}
	}
	for a := range n.Attr {
		into[n.Name][a] = true
	}
	for _, k := range n.Kids {
		k.shape(into)
	}
}

func num(t *testing.T, n *node, attr string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(n.Attr[attr], 64)
	if err != nil {
		t.Fatalf("%s %s=%q: %v", n.Name, attr, n.Attr[attr], err)
	}
	return v
}

// tesseractOutputs runs the tesseract CLI once on img, writing its ALTO and
// TSV renderings of the same recognition.
func tesseractOutputs(t *testing.T, img string) (altoXML, tsv []byte) {
	t.Helper()
	if _, err := exec.LookPath("tesseract"); err != nil {
		if os.Getenv("S3OCR_REQUIRE_TOOLS") == "1" {
			t.Fatal("no tesseract CLI:", err)
		}
		t.Skip("no tesseract CLI:", err)
	}
	base := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command("tesseract", img, base, "-l", "eng", "alto", "tsv")
	cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tesseract: %v\n%s", err, out)
	}
	altoXML, err := os.ReadFile(base + ".xml")
	if err != nil {
		t.Fatal(err)
	}
	if tsv, err = os.ReadFile(base + ".tsv"); err != nil {
		t.Fatal(err)
	}
	return altoXML, tsv
}

// resultFromTSV builds a one-page result from Tesseract's TSV: the page's
// size from its level-1 row, a line per level-4 row, a word per level-5 row.
func resultFromTSV(t *testing.T, tsv []byte) *ocr.Result {
	t.Helper()
	p := ocr.Page{Number: 1}
	var texts []string
	for _, row := range strings.Split(strings.TrimSpace(string(tsv)), "\n")[1:] {
		f := strings.Split(row, "\t")
		if len(f) < 11 {
			continue // an empty word's row ends at conf
		}
		v := make([]int, 4)
		for i := range v {
			v[i], _ = strconv.Atoi(f[6+i])
		}
		box := ocr.BBox{v[0], v[1], v[0] + v[2], v[1] + v[3]}
		switch f[0] {
		case "1":
			p.Width, p.Height = v[2], v[3]
		case "4":
			p.Lines = append(p.Lines, ocr.Line{BBox: box})
		case "5":
			text := strings.TrimSpace(strings.Join(f[11:], "\t"))
			if text == "" {
				continue
			}
			conf, _ := strconv.ParseFloat(f[10], 64)
			l := &p.Lines[len(p.Lines)-1]
			l.Words = append(l.Words, ocr.Word{Text: text, Confidence: conf / 100, BBox: box})
			l.Text = strings.TrimSpace(l.Text + " " + text)
		}
	}
	for _, l := range p.Lines {
		texts = append(texts, l.Text)
	}
	p.Text = strings.Join(texts, "\n")
	return &ocr.Result{Text: p.Text, Pages: []ocr.Page{p}, Engine: ocr.EngineInfo{Name: "tesseract", Version: "5.3.0"}}
}

// Our rendering of what Tesseract recognised has the structure of
// Tesseract's own ALTO (element and attribute names, one TextLine per line,
// one String per word, an SP between words) and the same words at the same
// places with the same confidences, in the v4 namespace.
func TestWrite_MatchesTesseractALTO(t *testing.T) {
	for _, img := range []string{"hello.png", "invoice.png"} {
		t.Run(img, func(t *testing.T) {
			theirsXML, tsv := tesseractOutputs(t, filepath.Join("..", "..", "testdata", img))
			oursXML := alto.Render(resultFromTSV(t, tsv))
			theirs, ours := parse(t, theirsXML), parse(t, oursXML)

			const v4 = "http://www.loc.gov/standards/alto/ns-v4#"
			if ours.Name != "alto" || ours.Space != v4 {
				t.Errorf("root {%s}%s, want {%s}alto", ours.Space, ours.Name, v4)
			}
			// Tesseract 5.3 writes ns-v3 (and so does its main branch); the
			// rest of the name is the same.
			if theirs.Name != "alto" || !strings.HasPrefix(theirs.Space, "http://www.loc.gov/standards/alto/ns-v") {
				t.Errorf("Tesseract's root is {%s}%s", theirs.Space, theirs.Name)
			}
			if loc := strings.Fields(ours.Attr["schemaLocation"]); len(loc) != 2 || loc[0] != v4 || !strings.HasSuffix(loc[1], ".xsd") {
				t.Errorf("schemaLocation %q, want the namespace and an .xsd, as Tesseract's %q", ours.Attr["schemaLocation"], theirs.Attr["schemaLocation"])
			}

			theirShape, ourShape := map[string]map[string]bool{}, map[string]map[string]bool{}
			theirs.shape(theirShape)
			ours.shape(ourShape)
			// Tesseract's ComposedBlock is the level above its paragraphs,
			// which results do not keep; fileName is the input's path, which
			// results do not carry. softwareVersion is in Tesseract's main
			// branch, where 5.3 puts the version in softwareName.
			delete(theirShape, "ComposedBlock")
			delete(theirShape, "fileName")
			delete(ourShape, "softwareVersion")
			for el, attrs := range theirShape {
				if ourShape[el] == nil {
					t.Errorf("no %s element", el)
					continue
				}
				for a := range attrs {
					if !ourShape[el][a] {
						t.Errorf("%s has no %s attribute", el, a)
					}
				}
			}
			for el, attrs := range ourShape {
				if theirShape[el] == nil {
					t.Errorf("%s is not an element Tesseract writes", el)
					continue
				}
				for a := range attrs {
					if !theirShape[el][a] {
						t.Errorf("%s has attribute %s, which Tesseract does not write", el, a)
					}
				}
			}

			theirLines, ourLines := theirs.all("TextLine"), ours.all("TextLine")
			if len(ourLines) != len(theirLines) || len(ourLines) == 0 {
				t.Fatalf("%d TextLines, Tesseract %d", len(ourLines), len(theirLines))
			}
			near := func(a, b *node, attr string, tol float64) {
				t.Helper()
				if d := math.Abs(num(t, a, attr) - num(t, b, attr)); d > tol {
					t.Errorf("%s %s %s=%s, Tesseract %s", a.Name, a.Attr["CONTENT"], attr, a.Attr[attr], b.Attr[attr])
				}
			}
			for i := range ourLines {
				for _, attr := range []string{"HPOS", "VPOS", "WIDTH", "HEIGHT"} {
					near(ourLines[i], theirLines[i], attr, 2)
				}
				ourStrings, theirStrings := ourLines[i].all("String"), theirLines[i].all("String")
				var ourWords, theirWords []string
				for _, s := range ourStrings {
					ourWords = append(ourWords, s.Attr["CONTENT"])
				}
				for _, s := range theirStrings {
					theirWords = append(theirWords, s.Attr["CONTENT"])
				}
				if !slices.Equal(ourWords, theirWords) {
					t.Fatalf("line %d: Strings %q, Tesseract %q", i+1, ourWords, theirWords)
				}
				for j := range ourStrings {
					for _, attr := range []string{"HPOS", "VPOS", "WIDTH", "HEIGHT"} {
						near(ourStrings[j], theirStrings[j], attr, 2)
					}
					// Tesseract truncates the confidence to two digits; we round.
					near(ourStrings[j], theirStrings[j], "WC", 0.011)
				}
				ourSP, theirSP := ourLines[i].all("SP"), theirLines[i].all("SP")
				if len(ourSP) != len(ourStrings)-1 || len(ourSP) != len(theirSP) {
					t.Fatalf("line %d: %d SP for %d Strings, Tesseract %d", i+1, len(ourSP), len(ourStrings), len(theirSP))
				}
				for j := range ourSP {
					for _, attr := range []string{"HPOS", "VPOS", "WIDTH"} {
						near(ourSP[j], theirSP[j], attr, 2)
					}
				}
			}
			if p := ours.all("Page")[0]; p.Attr["WIDTH"] != theirs.all("Page")[0].Attr["WIDTH"] || p.Attr["HEIGHT"] != theirs.all("Page")[0].Attr["HEIGHT"] {
				t.Errorf("Page %v, Tesseract %v", p.Attr, theirs.all("Page")[0].Attr)
			}
		})
	}
}

// A text-layer page (confidence 1), a page with no words, a page of unknown
// size and a line stored without words all make valid ALTO: every TextLine
// holds a String, IDs are unique, sizes are left out rather than 0.
func TestWrite_TextLayerEmptyAndWordlessPages(t *testing.T) {
	res := &ocr.Result{Engine: ocr.EngineInfo{Name: "pdftotext"}, Pages: []ocr.Page{
		{Number: 1, Width: 2480, Height: 3508, Confidence: 1, Lines: []ocr.Line{{
			Text: "Total 12.50", Confidence: 1, BBox: ocr.BBox{100, 100, 400, 140},
			Words: []ocr.Word{{Text: "Total", Confidence: 1, BBox: ocr.BBox{100, 100, 220, 140}}, {Text: "12.50", Confidence: 1, BBox: ocr.BBox{260, 100, 400, 140}}},
		}}},
		{Number: 2, Width: 2480, Height: 3508},
		{Number: 3, Lines: []ocr.Line{
			{Text: "no words stored", Confidence: 0.8, BBox: ocr.BBox{10, 10, 300, 40}},
			{Text: "", BBox: ocr.BBox{10, 50, 300, 80}, Words: []ocr.Word{{Text: "", BBox: ocr.BBox{10, 50, 300, 80}}}},
		}},
	}}
	doc := parse(t, alto.Render(res))
	pages := doc.all("Page")
	if len(pages) != 3 {
		t.Fatalf("%d pages", len(pages))
	}
	strs := pages[0].all("String")
	if len(strs) != 2 || strs[0].Attr["WC"] != "1" || strs[1].Attr["CONTENT"] != "12.50" {
		t.Errorf("text-layer page: %+v", strs)
	}
	if ps := pages[1].all("PrintSpace"); len(ps) != 1 || len(ps[0].Kids) != 0 || pages[1].Attr["WIDTH"] != "2480" {
		t.Errorf("empty page: %+v", pages[1])
	}
	if _, ok := pages[2].Attr["WIDTH"]; ok {
		t.Errorf("page of unknown size has WIDTH=%q", pages[2].Attr["WIDTH"])
	}
	lines := pages[2].all("TextLine")
	if len(lines) != 1 || len(lines[0].all("String")) != 1 || lines[0].all("String")[0].Attr["CONTENT"] != "no words stored" {
		t.Errorf("wordless lines: want one TextLine with the line as its String, got %d", len(lines))
	}
	for _, l := range doc.all("TextLine") {
		if len(l.all("String")) == 0 {
			t.Errorf("TextLine %s has no String", l.Attr["ID"])
		}
	}
	seen := map[string]bool{}
	for _, el := range []string{"Page", "TextBlock", "TextLine", "String"} {
		for _, n := range doc.all(el) {
			if id := n.Attr["ID"]; id == "" || seen[id] {
				t.Errorf("%s ID %q missing or repeated", el, id)
			} else {
				seen[id] = true
			}
		}
	}
	if sw := doc.all("softwareName"); len(sw) != 1 {
		t.Errorf("%d softwareName elements, want 1", len(sw))
	}
}

// Every character a word can hold comes back from a strict XML parser as it
// was, except those XML 1.0 cannot carry, which become U+FFFD.
func TestWrite_EscapesTextAndReplacesInvalidCharacters(t *testing.T) {
	words := []struct{ in, want string }{
		{`<Fish & "Chips">`, `<Fish & "Chips">`},
		{"it's", "it's"},
		{"tab\there\nand\rthere", "tab\there\nand\rthere"},
		{"nul\x00bell\x07esc\x1b", "nul\uFFFDbell\uFFFDesc\uFFFD"},
		{"bad\xffutf8", "bad\uFFFDutf8"},
		{"non\uFFFEchar", "non\uFFFDchar"},
		{"ümlaut ₹ 😀", "ümlaut ₹ 😀"},
	}
	l := ocr.Line{BBox: ocr.BBox{0, 0, 1000, 30}}
	for i, w := range words {
		l.Words = append(l.Words, ocr.Word{Text: w.in, Confidence: 0.5, BBox: ocr.BBox{i * 100, 0, i*100 + 90, 30}})
	}
	res := &ocr.Result{Engine: ocr.EngineInfo{Name: "t<e>s&t", Version: "\x01"}, Pages: []ocr.Page{{Number: 1, Width: 1000, Height: 100, Lines: []ocr.Line{l}}}}
	doc := parse(t, alto.Render(res))
	strs := doc.all("String")
	if len(strs) != len(words) {
		t.Fatalf("%d Strings for %d words", len(strs), len(words))
	}
	for i, w := range words {
		if got := strs[i].Attr["CONTENT"]; got != w.want {
			t.Errorf("CONTENT %q, want %q", got, w.want)
		}
	}
}

func TestBlocks_StartWhereLinesAreFarApartOrElsewhere(t *testing.T) {
	line := func(x0, y0, x1 int) ocr.Line {
		return ocr.Line{Text: "w", BBox: ocr.BBox{x0, y0, x1, y0 + 40}, Words: []ocr.Word{{Text: "w", BBox: ocr.BBox{x0, y0, x1, y0 + 40}}}}
	}
	for _, tc := range []struct {
		name   string
		lines  []ocr.Line
		blocks []int // lines per block
	}{
		{"a paragraph", []ocr.Line{line(100, 100, 900), line(100, 150, 900), line(100, 200, 600)}, []int{3}},
		{"an indented line", []ocr.Line{line(100, 100, 900), line(160, 150, 900)}, []int{2}},
		{"a blank line between", []ocr.Line{line(100, 100, 900), line(100, 150, 900), line(100, 240, 900)}, []int{2, 1}},
		{"the next column", []ocr.Line{line(100, 100, 500), line(100, 150, 500), line(600, 100, 1000)}, []int{2, 1}},
		{"a cell to the right", []ocr.Line{line(100, 100, 300), line(700, 100, 900)}, []int{1, 1}},
		{"a line below, elsewhere", []ocr.Line{line(100, 100, 300), line(700, 150, 900)}, []int{1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := &ocr.Result{Pages: []ocr.Page{{Number: 1, Width: 1200, Height: 800, Lines: tc.lines}}}
			var got []int
			for _, b := range parse(t, alto.Render(res)).all("TextBlock") {
				got = append(got, len(b.all("TextLine")))
			}
			if !slices.Equal(got, tc.blocks) {
				t.Errorf("lines per block %v, want %v", got, tc.blocks)
			}
		})
	}
}

type failingWriter struct{ writes int }

var errFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	w.writes++
	return 0, errFull
}

// Write stops at the first page the writer refuses and says why.
func TestWrite_ReturnsTheWritersError(t *testing.T) {
	res := &ocr.Result{}
	for i := range 100 {
		res.Pages = append(res.Pages, ocr.Page{Number: i + 1, Lines: []ocr.Line{{Text: strings.Repeat("x", 5000), BBox: ocr.BBox{0, 0, 10, 10}}}})
	}
	w := &failingWriter{}
	if err := alto.Write(w, res); !errors.Is(err, errFull) {
		t.Fatalf("Write = %v, want %v", err, errFull)
	}
	if w.writes > 1 {
		t.Errorf("%d writes after the first failed", w.writes-1)
	}
}
