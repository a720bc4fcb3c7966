package e2e

import (
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// get fetches a path of the API (following redirects, as clients do) and
// returns the status, content type and body.
func get(t *testing.T, path string) (int, string, []byte) {
	t.Helper()
	resp, err := http.Get(stack.APIURL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// pdftotext returns the text poppler reads from a PDF, after qpdf --check
// finds nothing wrong with it.
func pdftotext(t *testing.T, pdf []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("qpdf", "--check", path).CombinedOutput(); err != nil {
		t.Fatalf("qpdf --check: %v\n%s", err, out)
	}
	out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

func TestFormats_SearchablePDFAndALTOOfAnImage(t *testing.T) {
	st := uploadAndWait(t, "invoice.png", "image/png", testdata(t, "invoice.png"))
	if st.Status != "done" {
		t.Fatalf("upload = %s %+v", st.Status, st.Error)
	}
	want := strings.Join(words(st.Result.Text), " ")

	status, ct, pdf := get(t, "/uploads/"+st.UploadID+"?format=pdf")
	if status != http.StatusOK || ct != "application/pdf" || !strings.HasPrefix(string(pdf), "%PDF-") {
		t.Fatalf("?format=pdf = %d %s %.40q", status, ct, pdf)
	}
	if got := strings.Join(words(pdftotext(t, pdf)), " "); got != want {
		t.Errorf("the PDF's text layer reads\n %q\nthe result\n %q", got, want)
	}

	status, ct, body := get(t, "/uploads/"+st.UploadID+"?format=alto")
	if status != http.StatusOK || !strings.HasPrefix(ct, "application/xml") {
		t.Fatalf("?format=alto = %d %s", status, ct)
	}
	var doc struct {
		XMLName xml.Name
		Strings []struct {
			Content string `xml:"CONTENT,attr"`
		} `xml:"Layout>Page>PrintSpace>TextBlock>TextLine>String"`
	}
	if err := xml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("ALTO: %v", err)
	}
	var contents []string
	for _, s := range doc.Strings {
		contents = append(contents, strings.ToLower(s.Content))
	}
	if doc.XMLName.Space != "http://www.loc.gov/standards/alto/ns-v4#" || strings.Join(contents, " ") != want {
		t.Errorf("ALTO %s with words %q, want %q", doc.XMLName.Space, contents, want)
	}
}

func TestFormats_RedactionMasksEveryFormat(t *testing.T) {
	st := uploadAndWait(t, "invoice.png", "image/png", testdata(t, "invoice.png"))
	const email = "billing@example.com"
	if !strings.Contains(st.Result.Text, email) {
		t.Fatalf("the invoice's text lacks %s: %q", email, st.Result.Text)
	}
	path := "/uploads/" + st.UploadID
	for _, format := range []string{"json", "txt", "hocr", "alto"} {
		status, _, body := get(t, path+"?format="+format+"&redact=email,iban")
		if status != http.StatusOK || strings.Contains(string(body), email) || strings.Contains(string(body), "DE89") {
			t.Errorf("?format=%s&redact=email,iban = %d, still holds the e-mail or IBAN: %t", format, status, strings.Contains(string(body), email))
		}
		if !strings.Contains(string(body), "Invoice") {
			t.Errorf("?format=%s&redact=email,iban masked more than the entities", format)
		}
	}
	// One page, as GET /uploads/{id}/pages/1 gives it: masked the same.
	if status, _, body := get(t, path+"/pages/1?redact=email,iban"); status != http.StatusOK ||
		strings.Contains(string(body), email) || !strings.Contains(string(body), "Invoice") {
		t.Errorf("pages/1?redact=email,iban = %d, still holds the e-mail: %t", status, strings.Contains(string(body), email))
	}
	if status, _, body := get(t, path+"/pages/1"); status != http.StatusOK || !strings.Contains(string(body), email) {
		t.Errorf("pages/1 without redaction = %d, lacks the e-mail", status)
	}
	status, _, pdf := get(t, path+"?format=pdf&redact=email")
	if status != http.StatusOK {
		t.Fatalf("redacted PDF = %d %s", status, pdf)
	}
	if text := pdftotext(t, pdf); strings.Contains(text, email) || !strings.Contains(text, "Invoice") {
		t.Errorf("the redacted PDF reads %q", text)
	}
	if status, _, body := get(t, path+"?format=pdf&redact=ssn"); status != http.StatusBadRequest || !strings.Contains(string(body), "invalid_request") {
		t.Errorf("an unknown entity type = %d %s", status, body)
	}
}

func TestFormats_ScannedPDFGetsATextLayerAndATextPDFStaysAsItWas(t *testing.T) {
	for _, name := range []string{"scan.pdf", "text.pdf"} {
		// A comment after the end makes bytes of their own, so the PDF tests
		// that count the engine's pages still find these unread.
		data := append(testdata(t, name), "\n% formats test\n"...)
		st := uploadAndWait(t, name, "application/pdf", data)
		status, _, pdf := get(t, "/uploads/"+st.UploadID+"?format=pdf")
		if status != http.StatusOK {
			t.Fatalf("%s ?format=pdf = %d %s", name, status, pdf)
		}
		if got, want := strings.Join(words(pdftotext(t, pdf)), " "), strings.Join(words(strings.ReplaceAll(st.Result.Text, "\f", " ")), " "); got != want {
			t.Errorf("%s: the PDF reads\n %q\nthe result\n %q", name, got, want)
		}
	}
}
