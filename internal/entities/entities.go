// Package entities finds structured values in OCR text: e-mail addresses,
// phone numbers, dates, money amounts, IBANs (mod-97 checked), payment card
// numbers (Luhn checked, masked), and the Indian identity numbers that OCR
// APIs in this field extract: PAN, Aadhaar (Verhoeff checked, masked),
// driving licence, passport and UDYAM registration. Each carries its page and
// the box of the words it was read from.
//
// Checksums do the work a model would otherwise guess at: a 16-digit run is
// a card only if its Luhn digit agrees, 12 digits are an Aadhaar number only
// if Verhoeff's does. Patterns match within a line; identity numbers are
// tried first, and a span claimed by one type is not read again as another.
package entities

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// The entity types.
const (
	Email          = "email"
	Phone          = "phone"
	Date           = "date"
	Money          = "money"
	IBAN           = "iban"
	Card           = "card"
	PAN            = "pan"
	Aadhaar        = "aadhaar"
	DrivingLicence = "driving_licence"
	Passport       = "passport"
	UDYAM          = "udyam"
)

// line is the text a detector reads, with page context.
type line struct {
	text     string
	pageText string // lower case, for context words
}

// detector finds one type in a line: it returns the matched spans and, for
// each, the entity's printed (possibly masked) text and normalised value;
// ok false drops a match that failed its check.
type detector struct {
	typ  string
	re   *regexp.Regexp
	keep func(l line, m []string) (text, value string, ok bool)
}

var detectors = []detector{
	{UDYAM, regexp.MustCompile(`\bUDYAM-[A-Z]{2}-\d{2}-\d{7}\b`), same},
	// The fourth letter of a PAN names the holder type (P person, C company…).
	{PAN, regexp.MustCompile(`\b[A-Z]{3}[ABCFGHLJPT][A-Z]\d{4}[A-Z]\b`), same},
	{IBAN, regexp.MustCompile(`\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b`), keepIBAN},
	{Aadhaar, regexp.MustCompile(`\b[2-9]\d{3} ?\d{4} ?\d{4}\b`), keepAadhaar},
	{Card, regexp.MustCompile(`\b\d(?:[ -]?\d){12,18}\b`), keepCard},
	{DrivingLicence, regexp.MustCompile(`\b([A-Z]{2})[- ]?(\d{2})[- ]?((?:19|20)\d{2})[- ]?(\d{7})\b`), keepLicence},
	{Passport, regexp.MustCompile(`\b[A-Z][1-9]\d{6}\b`), keepPassport},
	{Email, regexp.MustCompile(`\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b`), keepEmail},
	{Money, regexp.MustCompile(`(?i)(?:(RM|Rs\.?|INR|MYR|USD|EUR|GBP|\$|€|£|₹) ?(\d{1,3}(?:[,.]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?))|(?:\b(\d{1,3}(?:[,.]\d{3})*[.,]\d{2}|\d+[.,]\d{2}) ?(EUR|USD|GBP|INR|MYR|RM|€))`), keepMoney},
	{Date, regexp.MustCompile(`(?i)\b(?:(\d{4})-(\d{1,2})-(\d{1,2})|(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})|(\d{1,2})(?:st|nd|rd|th)? (jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?,? (\d{4})|(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.? (\d{1,2})(?:st|nd|rd|th)?,? (\d{4}))\b`), keepDate},
	{Phone, regexp.MustCompile(`(?:\+\d{1,3}[ -]?)?(?:\(\d{1,4}\)[ -]?)?\d{2,12}(?:[ -]\d{2,5}){0,4}`), keepPhone},
}

func same(_ line, m []string) (string, string, bool) { return m[0], m[0], true }

// Extract finds the entities on the pages, in reading order, and guesses the
// document's type from them.
func Extract(pages []ocr.Page) ([]ocr.Entity, string) {
	out := []ocr.Entity{}
	for _, p := range pages {
		pageText := strings.ToLower(p.Text)
		for _, ln := range p.Lines {
			out = append(out, extractLine(p.Number, ln, pageText)...)
		}
	}
	return out, documentType(out)
}

type span struct{ a, b int }

func extractLine(page int, ln ocr.Line, pageText string) []ocr.Entity {
	l := line{text: ln.Text, pageText: pageText}
	var claimed []span
	var found []ocr.Entity
	var starts []int
	for _, d := range detectors {
		for _, idx := range d.re.FindAllStringSubmatchIndex(l.text, -1) {
			s := span{idx[0], idx[1]}
			if slices.ContainsFunc(claimed, func(c span) bool { return s.a < c.b && c.a < s.b }) {
				continue
			}
			m := make([]string, len(idx)/2)
			for i := range m {
				if idx[2*i] >= 0 {
					m[i] = l.text[idx[2*i]:idx[2*i+1]]
				}
			}
			text, value, ok := d.keep(l, m)
			if !ok {
				continue
			}
			claimed = append(claimed, s)
			found = append(found, ocr.Entity{Type: d.typ, Text: text, Value: value, Page: page, BBox: boxOf(ln, s)})
			starts = append(starts, s.a)
		}
	}
	// Reading order within the line.
	order := make([]int, len(found))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return starts[i] - starts[j] })
	sorted := make([]ocr.Entity, len(found))
	for i, o := range order {
		sorted[i] = found[o]
	}
	return sorted
}

// boxOf is the union of the boxes of the words the span touches, or the
// line's box when the words cannot be placed in the line's text.
func boxOf(ln ocr.Line, s span) ocr.BBox {
	var box ocr.BBox
	have, at := false, 0
	for _, w := range ln.Words {
		i := strings.Index(ln.Text[at:], w.Text)
		if i < 0 || w.Text == "" {
			continue
		}
		a := at + i
		b := a + len(w.Text)
		at = b
		if a < s.b && s.a < b {
			if !have {
				box, have = w.BBox, true
			} else {
				box = ocr.BBox{min(box[0], w.BBox[0]), min(box[1], w.BBox[1]), max(box[2], w.BBox[2]), max(box[3], w.BBox[3])}
			}
		}
	}
	if !have {
		return ln.BBox
	}
	return box
}

func digitsOf(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// mask hides every digit but the last keep, leaving separators as printed.
func mask(s string, keep int) string {
	n := len(digitsOf(s))
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			if n > keep {
				r = 'X'
			}
			n--
		}
		b.WriteRune(r)
	}
	return b.String()
}

func keepIBAN(_ line, m []string) (string, string, bool) {
	compact := strings.ReplaceAll(m[0], " ", "")
	return m[0], compact, ibanValid(compact)
}

func keepAadhaar(_ line, m []string) (string, string, bool) {
	d := digitsOf(m[0])
	// UIDAI asks that only the last four digits be shown.
	return mask(m[0], 4), mask(d, 4), verhoeff(d)
}

func keepCard(_ line, m []string) (string, string, bool) {
	d := digitsOf(m[0])
	if len(d) < 13 || len(d) > 19 || !luhn(d) || !strings.ContainsAny(d[:1], "23456") {
		return "", "", false
	}
	return mask(m[0], 4), mask(d, 4), true
}

// indianStates are the state and union-territory codes that begin a
// driving licence number.
var indianStates = strings.Fields("AN AP AR AS BR CG CH DD DL DN GA GJ HP HR JH JK KA KL LA LD MH ML MN MP MZ NL OD OR PB PY RJ SK TN TR TS UK UP WB")

func keepLicence(l line, m []string) (string, string, bool) {
	year := m[3]
	if !slices.Contains(indianStates, m[1]) || year > "2099" {
		return "", "", false
	}
	return m[0], m[1] + m[2] + m[3] + m[4], true
}

// keepPassport wants the word "passport" on the page: a letter and seven
// digits alone also look like an invoice or order number.
func keepPassport(l line, m []string) (string, string, bool) {
	return m[0], m[0], strings.Contains(l.pageText, "passport")
}

func keepEmail(_ line, m []string) (string, string, bool) {
	return m[0], strings.ToLower(m[0]), true
}

var currencies = map[string]string{
	"rm": "MYR", "myr": "MYR", "rs": "INR", "rs.": "INR", "inr": "INR", "₹": "INR",
	"usd": "USD", "$": "USD", "eur": "EUR", "€": "EUR", "gbp": "GBP", "£": "GBP",
}

func keepMoney(_ line, m []string) (string, string, bool) {
	cur, amount := m[1], m[2]
	if cur == "" {
		cur, amount = m[4], m[3]
	}
	code, ok := currencies[strings.ToLower(cur)]
	if !ok {
		return "", "", false
	}
	return m[0], code + " " + normaliseAmount(amount), true
}

// normaliseAmount writes an amount with a point for decimals and no grouping:
// the last separator is decimal when one or two digits follow it.
func normaliseAmount(s string) string {
	last := strings.LastIndexAny(s, ".,")
	if last >= 0 && len(s)-last-1 <= 2 {
		return digitsOf(s[:last]) + "." + s[last+1:]
	}
	return digitsOf(s)
}

var months = map[string]time.Month{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12}

// keepDate reads numeric dates day first (12/03/2024 is 12 March), as
// receipts and invoices outside the US write them, unless the second number
// cannot be a month: 03/25/2024 is 25 March.
func keepDate(_ line, m []string) (string, string, bool) {
	var y, mo, d int
	switch {
	case m[1] != "":
		y, mo, d = atoi(m[1]), atoi(m[2]), atoi(m[3])
	case m[4] != "":
		d, mo, y = atoi(m[4]), atoi(m[5]), atoi(m[6])
		if len(m[6]) == 2 {
			y += 2000
		}
		if mo > 12 && d <= 12 {
			d, mo = mo, d
		}
	case m[7] != "":
		d, mo, y = atoi(m[7]), int(months[strings.ToLower(m[8])]), atoi(m[9])
	default:
		mo, d, y = int(months[strings.ToLower(m[10])]), atoi(m[11]), atoi(m[12])
	}
	t := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC)
	if mo < 1 || mo > 12 || t.Day() != d || y < 1900 || y > 2100 {
		return "", "", false
	}
	return m[0], t.Format("2006-01-02"), true
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

var phoneWords = regexp.MustCompile(`(?i)\b(tel|phone|mobile|mob|ph|fax|contact|call|whatsapp)\b`)

// keepPhone accepts a number written as one (a leading +), one on a line that
// says it is a phone number, or a ten-digit Indian mobile number; the digits
// of totals and invoice numbers are not phone numbers.
func keepPhone(l line, m []string) (string, string, bool) {
	d := digitsOf(m[0])
	if len(d) < 8 || len(d) > 15 {
		return "", "", false
	}
	text := strings.TrimSpace(m[0])
	switch {
	case strings.HasPrefix(text, "+"):
		return text, "+" + d, true
	case phoneWords.MatchString(l.text):
		return text, d, true
	case len(d) == 10 && strings.ContainsAny(d[:1], "6789"):
		return text, "+91" + d, true
	}
	return "", "", false
}

// documentType names an identity document when one of its numbers is on it;
// other documents are left unnamed rather than guessed at.
func documentType(es []ocr.Entity) string {
	has := func(t string) bool { return slices.ContainsFunc(es, func(e ocr.Entity) bool { return e.Type == t }) }
	switch {
	case has(UDYAM):
		return "udyam_certificate"
	case has(Passport):
		return "passport"
	case has(DrivingLicence):
		return "driving_licence"
	case has(Aadhaar):
		return "aadhaar_card"
	case has(PAN) && !has(Money):
		return "pan_card"
	}
	return ""
}

// DocumentType guesses a document's type from the entities found on all
// its pages, as Extract does: for a document whose pages are extracted one
// at a time (read in ranges), with their entities put together.
func DocumentType(found []ocr.Entity) string { return documentType(found) }
