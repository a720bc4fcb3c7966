package tesseract

// Automatic languages: a page asked to be read with Auto has its script
// detected by Tesseract's orientation and script detection (osd.traineddata,
// through Tesseract's C API, which gosseract does not expose), and is read
// with the installed languages of that script.
//
// OSD names a script, not a language, and most installed languages share
// the Latin script. Reading with all of them costs time and buys nothing:
// measured with the tesseract CLI, one thread, on the shared corpus's
// French invoice (invoice_free_fra.png), eng took 1.02 s (WER 0.127), fra
// 0.95 s (0.072), eng+fra 1.29 s (0.072), eng+deu+fra 1.58 s (0.083) and
// all five installed Latin languages 2.1–2.2 s (0.080–0.086); on an
// English page (phototest) the five took 3× eng's time for the same text.
// So a Latin page is read with eng, its words tell which installed Latin
// language it is in (their function words: "le", "des", "pour" against
// "the", "and", "for"), and a page in another language is read again with
// that language alone. An English page costs OSD plus one reading; a
// French one OSD plus two, still faster than five languages at once and
// more accurate.

/*
#include <stdlib.h>
#include <string.h>
#include <tesseract/capi.h>
#include <leptonica/allheaders.h>

// s3ocr_osd detects the script of an encoded image. It returns 0 and the
// script's name in script, or non-zero when OSD cannot tell (too little
// text, or an image Leptonica cannot read).
static int s3ocr_osd(TessBaseAPI *api, const unsigned char *img, size_t n, int dpi, char *script, int len) {
	PIX *pix = pixReadMem(img, n);
	if (pix == NULL) {
		return -1;
	}
	pixSetResolution(pix, dpi, dpi); // the page has none: Tesseract would warn
	TessBaseAPISetImage2(api, pix);  // and keeps its own clone
	int deg = 0;
	float orientConf = 0, scriptConf = 0;
	const char *name = NULL;
	BOOL ok = TessBaseAPIDetectOrientationScript(api, &deg, &orientConf, &name, &scriptConf);
	if (ok && name != NULL) {
		strncpy(script, name, len - 1);
		script[len - 1] = 0;
	}
	TessBaseAPIClear(api);
	pixDestroy(&pix);
	return ok && name != NULL ? 0 : 1;
}
*/
import "C"

import (
	"fmt"
	"slices"
	"strings"
	"unsafe"

	"github.com/otiai10/gosseract/v2"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// Auto is the language a client asks for to have each page's languages
// chosen from its script. It is never mixed with language codes.
const Auto = ocr.AutoLanguage

// IsAuto reports whether langs ask for automatic languages.
func IsAuto(langs []string) bool { return len(langs) == 1 && langs[0] == Auto }

// Latin is the script name OSD gives Latin text.
const Latin = "Latin"

// scriptLanguages maps OSD's script names to the Tesseract languages
// written in them, the most used first. Any installed language in none of
// these lists is taken as Latin-script.
var scriptLanguages = map[string][]string{
	"Cyrillic":   {"rus", "ukr", "bel", "bul", "srp", "mkd", "kaz"},
	"Greek":      {"ell", "grc"},
	"Han":        {"chi_sim", "chi_tra", "jpn"},
	"Japanese":   {"jpn"},
	"Katakana":   {"jpn"},
	"Hiragana":   {"jpn"},
	"Hangul":     {"kor"},
	"Arabic":     {"ara", "fas", "urd", "pus"},
	"Hebrew":     {"heb", "yid"},
	"Devanagari": {"hin", "mar", "nep", "san"},
	"Bengali":    {"ben", "asm"},
	"Gurmukhi":   {"pan"},
	"Gujarati":   {"guj"},
	"Tamil":      {"tam"},
	"Telugu":     {"tel"},
	"Kannada":    {"kan"},
	"Malayalam":  {"mal"},
	"Thai":       {"tha"},
	"Georgian":   {"kat"},
	"Armenian":   {"hye"},
	"Ethiopic":   {"amh"},
}

// maxScriptLanguages caps the languages a non-Latin page is read with at
// once: each one read together adds about a quarter to a third of a
// page's time (eng+fra against eng above).
const maxScriptLanguages = 3

// scriptCandidates lists the installed languages to read a page of script
// with: those of its row in scriptLanguages, or for Latin (and a script OSD
// could not name) the installed languages of no other row, eng first. When
// none is installed, eng, or the first installed language.
func scriptCandidates(script string, installed []string) []string {
	var out []string
	if row, ok := scriptLanguages[script]; ok {
		for _, l := range row {
			if slices.Contains(installed, l) {
				out = append(out, l)
			}
		}
		if len(out) > maxScriptLanguages {
			out = out[:maxScriptLanguages]
		}
	} else {
		if slices.Contains(installed, DefaultLanguage) {
			out = append(out, DefaultLanguage)
		}
		for _, l := range installed {
			if l != DefaultLanguage && !otherScript(l) {
				out = append(out, l)
			}
		}
	}
	if len(out) == 0 {
		if slices.Contains(installed, DefaultLanguage) || len(installed) == 0 {
			return []string{DefaultLanguage}
		}
		return installed[:1]
	}
	return out
}

// otherScript reports whether a language is written in a script other than
// Latin.
func otherScript(lang string) bool {
	for _, row := range scriptLanguages {
		if slices.Contains(row, lang) {
			return true
		}
	}
	return false
}

// functionWords are short words frequent in running text of each Latin
// language, without accents, because a page read with eng loses them.
// Words common to two languages count for both; the distinctive ones
// decide.
var functionWords = map[string][]string{
	"eng": {"the", "and", "of", "to", "is", "for", "on", "with", "that", "this", "are", "be", "by", "it", "as", "at", "from", "or", "your", "you", "we", "our", "not", "have", "will", "all", "was", "which"},
	"fra": {"le", "la", "les", "des", "du", "et", "est", "une", "un", "pour", "par", "sur", "dans", "au", "aux", "que", "qui", "ne", "pas", "avec", "ce", "cette", "sont", "nous", "vous", "votre", "vos", "il", "elle", "ou"},
	"deu": {"der", "die", "das", "und", "ist", "nicht", "mit", "von", "zu", "den", "dem", "des", "fur", "auf", "ein", "eine", "im", "sie", "es", "ich", "wir", "ihr", "sind", "bei", "aus", "oder", "wird"},
	"spa": {"el", "los", "las", "del", "y", "es", "una", "por", "con", "que", "se", "al", "para", "su", "sus", "no", "como", "lo", "este", "esta", "son", "en", "la"},
	"por": {"o", "os", "as", "do", "da", "dos", "das", "e", "um", "uma", "para", "com", "nao", "em", "no", "na", "que", "se", "ao", "pelo", "pela", "seu", "sua", "sao"},
	"ita": {"il", "lo", "gli", "della", "dei", "delle", "di", "che", "non", "per", "con", "una", "sono", "del", "al", "nel", "e"},
	"nld": {"de", "het", "een", "en", "van", "is", "dat", "niet", "met", "op", "voor", "zijn", "te", "aan", "ook", "wordt"},
}

// minFunctionWords is how many function words of a language a page needs
// before it is read again in that language: a page of figures and names
// (a receipt) stays as eng read it.
const minFunctionWords = 3

// identify picks, among the Latin candidates (the first is what the page
// was read with), the language whose function words the page uses most. It
// keeps the first unless another has at least minFunctionWords and more
// than the first.
func identify(boxes []gosseract.BoundingBox, candidates []string) string {
	counts := make(map[string]int, len(candidates))
	for _, b := range boxes {
		w := foldWord(b.Word)
		if w == "" {
			continue
		}
		for _, l := range candidates {
			if slices.Contains(functionWords[l], w) {
				counts[l]++
			}
		}
	}
	best := candidates[0]
	for _, l := range candidates[1:] {
		if counts[l] >= minFunctionWords && counts[l] > counts[best] {
			best = l
		}
	}
	return best
}

// foldWord lower-cases a word, strips the punctuation around it and the
// accents of the letters Latin languages add.
func foldWord(w string) string {
	w = strings.ToLower(strings.TrimFunc(w, func(r rune) bool { return !isLetter(r) }))
	return strings.Map(func(r rune) rune {
		if f, ok := unaccent[r]; ok {
			return f
		}
		return r
	}, w)
}

func isLetter(r rune) bool {
	_, accented := unaccent[r]
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || accented
}

var unaccent = map[rune]rune{
	'à': 'a', 'á': 'a', 'â': 'a', 'ã': 'a', 'ä': 'a', 'ç': 'c', 'è': 'e', 'é': 'e', 'ê': 'e', 'ë': 'e',
	'ì': 'i', 'í': 'i', 'î': 'i', 'ï': 'i', 'ñ': 'n', 'ò': 'o', 'ó': 'o', 'ô': 'o', 'õ': 'o', 'ö': 'o',
	'ù': 'u', 'ú': 'u', 'û': 'u', 'ü': 'u',
	'À': 'a', 'Á': 'a', 'Â': 'a', 'Ã': 'a', 'Ä': 'a', 'Ç': 'c', 'È': 'e', 'É': 'e', 'Ê': 'e', 'Ë': 'e',
	'Í': 'i', 'Î': 'i', 'Ï': 'i', 'Ñ': 'n', 'Ó': 'o', 'Ô': 'o', 'Õ': 'o', 'Ö': 'o', 'Ú': 'u', 'Û': 'u', 'Ü': 'u',
}

// osd is a Tesseract API loaded with osd.traineddata, for script detection.
type osd struct{ api *C.TessBaseAPI }

// newOSD loads the OSD model from prefix ("" for Tesseract's default). Its
// Init holds apiLock alone, as gosseract's do.
func newOSD(prefix string) (*osd, error) {
	apiLock.Lock()
	defer apiLock.Unlock()
	api := C.TessBaseAPICreate()
	var cprefix *C.char
	if prefix != "" {
		cprefix = C.CString(prefix)
		defer C.free(unsafe.Pointer(cprefix))
	}
	lang := C.CString("osd")
	defer C.free(unsafe.Pointer(lang))
	if C.TessBaseAPIInit3(api, cprefix, lang) != 0 {
		C.TessBaseAPIDelete(api)
		return nil, fmt.Errorf("tesseract: cannot load osd.traineddata for automatic languages")
	}
	return &osd{api: api}, nil
}

// script names the script of a page (encoded for Leptonica, see spix.go)
// at a resolution, "" when OSD cannot tell.
func (o *osd) script(page []byte, dpi int) string {
	apiLock.RLock()
	defer apiLock.RUnlock()
	var name [64]C.char
	if C.s3ocr_osd(o.api, (*C.uchar)(unsafe.Pointer(&page[0])), C.size_t(len(page)), C.int(dpi), &name[0], C.int(len(name))) != 0 {
		return ""
	}
	return C.GoString(&name[0])
}

func (o *osd) close() {
	C.TessBaseAPIEnd(o.api)
	C.TessBaseAPIDelete(o.api)
}

// recognizeAuto reads a page with the languages its script calls for, and
// says which. e.mu must be held.
func (e *Engine) recognizeAuto(page []byte, dpi int) ([]gosseract.BoundingBox, []string, error) {
	script := ""
	if e.osd == nil && !e.noOSD {
		o, err := newOSD(e.prefix)
		if err != nil {
			e.noOSD = true // read as Latin, as when OSD cannot tell
		}
		e.osd = o
	}
	if e.osd != nil {
		script = e.osd.script(page, dpi)
	}
	e.scripts = append(e.scripts, script)
	cands := scriptCandidates(script, e.installed)
	if scriptLanguages[script] != nil || len(cands) == 1 {
		boxes, err := e.recognize(page, dpi, strings.Join(cands, "+"))
		return boxes, cands, err
	}
	boxes, err := e.recognize(page, dpi, cands[0])
	if err != nil {
		return nil, nil, err
	}
	lang := identify(boxes, cands)
	if lang == cands[0] {
		return boxes, cands[:1], nil
	}
	boxes, err = e.recognize(page, dpi, lang)
	return boxes, []string{lang}, err
}
