// Package hostile builds a corpus of crafted and odd files, each with the
// outcomes reading it may correctly end in: decompression and scan bombs,
// headers that lie, loops, polyglots, truncations, and the valid-but-unusual
// files a real user has (CMYK JPEG, 16-bit PNG, G4 TIFF, WebP lossless).
//
// The files are generated when Cases is called, from the standard library,
// golang.org/x/image and PDFs written by hand, so a test can run the whole
// corpus without a fixture directory. The two formats Go cannot write (a
// CCITT G4 TIFF and a lossless WebP) are embedded from samples/.
package hostile

import (
	"fmt"
	"slices"

	"github.com/s3ocr/s3ocr/internal/imaging"
)

// Case is one crafted file and what reading it must end in.
type Case struct {
	Name        string   // what it is, e.g. "pdf-mediabox-cropbox-mismatch"
	ContentType string   // what a client declares: image/png, application/pdf, …
	Data        []byte   // the file
	Want        []string // acceptable outcomes: Done, or failure codes such as ocr.EBADIMAGE
	Why         string   // one line: what it attacks, or what odd but valid thing it is
}

// Done is the outcome of a file that is read.
const Done = "done"

// Sniffed is the content type imaging.Sniff must give the file: the declared
// one, except for the cases that lie about their type on purpose.
func (c Case) Sniffed() string {
	if t, ok := lies[c.Name]; ok {
		return t
	}
	return c.ContentType
}

// lies are the cases whose bytes are not of the declared type, with the type
// they are ("" for none).
var lies = map[string]string{
	"empty-file":        "",
	"text-starting-bm":  "",
	"png-declared-jpeg": imaging.PNG,
	"polyglot-jpeg-pdf": imaging.JPEG,
}

// Accepts reports whether outcome (Done or a failure code) is one c allows.
func (c Case) Accepts(outcome string) bool { return slices.Contains(c.Want, outcome) }

// Cases returns the corpus, the same bytes on every call, in a fixed order.
func Cases() []Case {
	var cs []Case
	for _, part := range [][]Case{pdfCases(), jpegCases(), pngCases(), tiffCases(), otherCases()} {
		cs = append(cs, part...)
	}
	return cs
}

// want lists outcomes; a helper so the tables read as prose.
func want(outcomes ...string) []string { return outcomes }

// mustNot panics on an error that generating a fixed input cannot have.
func mustNot(err error) {
	if err != nil {
		panic(fmt.Sprintf("hostile: generating the corpus: %v", err))
	}
}
