package entities

import (
	"strings"
	"testing"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// page makes a one-line page whose words have boxes 100 px wide, 10 apart.
func page(text string) ocr.Page {
	var words []ocr.Word
	x := 0
	for _, w := range strings.Fields(text) {
		words = append(words, ocr.Word{Text: w, BBox: ocr.BBox{x, 0, x + 100, 20}})
		x += 110
	}
	return ocr.Page{Number: 1, Text: text, Lines: []ocr.Line{{Text: strings.Join(strings.Fields(text), " "), BBox: ocr.BBox{0, 0, x, 20}, Words: words}}}
}

func TestExtract(t *testing.T) {
	for _, tc := range []struct {
		line       string
		typ, value string
		text       string // when the printed text is not the match as written (masking)
	}{
		{"Contact: billing@Example.co.in for queries", Email, "billing@example.co.in", ""},
		{"Tel: 03-7845 1234", Phone, "0378451234", ""},
		{"Call +91 98765 43210 today", Phone, "+919876543210", ""},
		{"Mobile 9876543210", Phone, "9876543210", ""},
		{"Date: 12/03/2024", Date, "2024-03-12", ""},
		{"Issued 03/25/2024", Date, "2024-03-25", ""},
		{"Invoice date 2024-11-05", Date, "2024-11-05", ""},
		{"Due 5 March 2025", Date, "2025-03-05", ""},
		{"Delivered on Sept. 9, 2023", Date, "2023-09-09", ""},
		{"Dated 29.02.24", Date, "2024-02-29", ""},
		{"TOTAL RM 12.50", Money, "MYR 12.50", ""},
		{"Amount due €1.234,56", Money, "EUR 1234.56", ""},
		{"Paid $1,234.56 by card", Money, "USD 1234.56", ""},
		{"Rs. 2,500 only", Money, "INR 2500", ""},
		{"Summe 89,90 EUR", Money, "EUR 89.90", ""},
		{"IBAN DE89 3704 0044 0532 0130 00", IBAN, "DE89370400440532013000", ""},
		{"GB82WEST12345698765432", IBAN, "GB82WEST12345698765432", ""},
		{"Card 4111 1111 1111 1111 approved", Card, "XXXXXXXXXXXX1111", "XXXX XXXX XXXX 1111"},
		{"MC 5500-0000-0000-0004", Card, "XXXXXXXXXXXX0004", "XXXX-XXXX-XXXX-0004"},
		{"PAN: ABCPE1234F", PAN, "ABCPE1234F", ""},
		{"Aadhaar 4990 1234 5678", Aadhaar, "XXXXXXXX5678", "XXXX XXXX 5678"},
		{"DL No. MH12 20110012345", DrivingLicence, "MH1220110012345", ""},
		{"Passport No. J8369854", Passport, "J8369854", ""},
		{"Registration UDYAM-MH-33-0012345", UDYAM, "UDYAM-MH-33-0012345", ""},
	} {
		t.Run(tc.line, func(t *testing.T) {
			es, _ := Extract([]ocr.Page{page(tc.line)})
			var got *ocr.Entity
			for i := range es {
				if es[i].Type == tc.typ {
					got = &es[i]
				}
			}
			if got == nil {
				t.Fatalf("no %s in %q; got %+v", tc.typ, tc.line, es)
			}
			want := tc.text
			if want == "" {
				want = strings.TrimSpace(got.Text)
			}
			if got.Value != tc.value || got.Text != want || got.Page != 1 {
				t.Fatalf("%s = %+v; want value %q text %q", tc.typ, *got, tc.value, want)
			}
			if got.BBox == (ocr.BBox{}) {
				t.Fatal("no box")
			}
		})
	}
}

func TestExtract_RefusesLookalikes(t *testing.T) {
	for _, tc := range []struct {
		line string
		typ  string
	}{
		{"Card 4111 1111 1111 1112", Card},           // Luhn fails
		{"Order 1234567890123456", Card},             // Luhn fails
		{"Aadhaar 4990 1234 5679", Aadhaar},          // Verhoeff fails
		{"Ref 1234 5678 9012", Aadhaar},              // starts with 1; and Verhoeff
		{"IBAN DE89 3704 0044 0532 0130 01", IBAN},   // mod-97 fails
		{"Code ABCDE1234F", PAN},                     // D is no holder type
		{"Invoice J8369854", Passport},               // no "passport" on the page
		{"Licence XX12 20110012345", DrivingLicence}, // no such state
		{"Qty 1234 5678 items", Phone},               // no phone context, not a mobile
		{"TOTAL 12345678", Phone},                    // a number, not a phone
		{"Date 31/02/2024", Date},                    // no 31 February
		{"Version 1.2.3", Date},                      // not a date
		{"Total 12.50", Money},                       // no currency
		{"name@localhost", Email},                    // no domain
	} {
		t.Run(tc.line, func(t *testing.T) {
			es, _ := Extract([]ocr.Page{page(tc.line)})
			for _, e := range es {
				if e.Type == tc.typ {
					t.Fatalf("%q read as %s: %+v", tc.line, tc.typ, e)
				}
			}
		})
	}
}

func TestExtract_BoxIsTheMatchedWords(t *testing.T) {
	es, _ := Extract([]ocr.Page{page("Mail to someone@example.com please")})
	if len(es) != 1 || es[0].BBox != (ocr.BBox{220, 0, 320, 20}) {
		t.Fatalf("entities = %+v; want the third word's box", es)
	}
	es, _ = Extract([]ocr.Page{page("Card 4111 1111 1111 1111 ok")})
	if len(es) != 1 || es[0].BBox != (ocr.BBox{110, 0, 540, 20}) {
		t.Fatalf("entities = %+v; want the four groups' box", es)
	}
}

func TestExtract_DocumentType(t *testing.T) {
	for _, tc := range []struct {
		lines []string
		want  string
	}{
		{[]string{"Government of India", "Aadhaar 4990 1234 5678", "DOB: 01/01/1990"}, "aadhaar_card"},
		{[]string{"INCOME TAX DEPARTMENT", "ABCPE1234F"}, "pan_card"},
		{[]string{"Invoice", "GSTIN PAN ABCPE1234F", "Total Rs. 2,500"}, ""}, // an invoice quoting a PAN
		{[]string{"REPUBLIC OF INDIA PASSPORT", "J8369854"}, "passport"},
		{[]string{"UDYAM REGISTRATION CERTIFICATE", "UDYAM-MH-33-0012345"}, "udyam_certificate"},
		{[]string{"Receipt", "TOTAL RM 12.50", "12/03/2024"}, ""},
	} {
		var pages []ocr.Page
		for i, l := range tc.lines {
			p := page(l)
			p.Number = i + 1
			p.Text = strings.Join(tc.lines, "\n")
			pages = append(pages, p)
		}
		if _, got := Extract(pages); got != tc.want {
			t.Errorf("%q: documentType %q, want %q", tc.lines, got, tc.want)
		}
	}
}

func TestChecksums(t *testing.T) {
	for _, n := range []string{"499012345678", "876543210988"} {
		if !verhoeff(n) {
			t.Errorf("verhoeff(%s) false", n)
		}
	}
	if verhoeff("499012345679") || !luhn("4111111111111111") || luhn("4111111111111112") ||
		!ibanValid("NL91ABNA0417164300") || ibanValid("NL91ABNA0417164301") {
		t.Fatal("checksum table wrong")
	}
}
