package service_test

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/service"
)

func TestCreate_ValidRequestIsPresignedAndRecorded(t *testing.T) {
	e := newEnv(t)
	out, err := e.uploads.Create(ctx, service.CreateUploadRequest{
		Filename: "C:\\scans\\invoice 7.png", ContentType: "image/PNG", Size: 1234, Languages: []string{"deu", "eng", "deu"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !service.ValidUploadID(out.UploadID) || out.StatusURL != "/uploads/"+out.UploadID {
		t.Fatalf("id %q statusUrl %q", out.UploadID, out.StatusURL)
	}
	f := out.Upload.Fields
	// The key comes from the id alone; the size and type are what the policy pins.
	if f["key"] != "uploads/"+out.UploadID || f["Content-Type"] != "image/png" || f["x-max-size"] != "1234" {
		t.Fatalf("presigned fields = %v", f)
	}
	if want := e.clock.Now().Add(10 * time.Minute); !out.ExpiresAt.Equal(want) {
		t.Fatalf("expiresAt = %v, want %v", out.ExpiresAt, want)
	}
	u, err := e.store.Upload(ctx, out.UploadID)
	if err != nil {
		t.Fatal(err)
	}
	if u.Status != ocr.StatusPending || u.Filename != "invoice 7.png" || strings.Join(u.Languages, "+") != "deu+eng" ||
		!u.ExpiresAt.Equal(e.clock.Now().Add(24*time.Hour)) {
		t.Fatalf("recorded upload = %+v", u)
	}
}

func TestCreate_IDsAreUniqueAndLong(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id, err := service.NewUploadID()
		if err != nil {
			t.Fatal(err)
		}
		if seen[id] || len(id)*5 < 128 || !service.ValidUploadID(id) {
			t.Fatalf("id %q: duplicate or too short", id)
		}
		seen[id] = true
	}
}

func TestCreate_RefusesBadRequests(t *testing.T) {
	ok := service.CreateUploadRequest{Filename: "a.png", ContentType: "image/png", Size: 100}
	for _, tc := range []struct {
		name string
		edit func(r *service.CreateUploadRequest)
		code string
	}{
		{"unsupported type", func(r *service.CreateUploadRequest) { r.ContentType = "application/zip" }, ocr.EUNSUPPORTED},
		{"missing type", func(r *service.CreateUploadRequest) { r.ContentType = "" }, ocr.EINVALID},
		{"malformed type", func(r *service.CreateUploadRequest) { r.ContentType = "image/" }, ocr.EINVALID},
		{"zero size", func(r *service.CreateUploadRequest) { r.Size = 0 }, ocr.EEMPTY},
		{"negative size", func(r *service.CreateUploadRequest) { r.Size = -5 }, ocr.EINVALID},
		{"over the size limit", func(r *service.CreateUploadRequest) { r.Size = 1<<20 + 1 }, ocr.ETOOLARGE},
		{"language not installed", func(r *service.CreateUploadRequest) { r.Languages = []string{"eng", "jpn"} }, ocr.ELANGUAGE},
		{"language code malformed", func(r *service.CreateUploadRequest) { r.Languages = []string{"../eng"} }, ocr.ELANGUAGE},
		{"osd is not a language", func(r *service.CreateUploadRequest) { r.Languages = []string{"osd"} }, ocr.ELANGUAGE},
		{"auto mixed with codes", func(r *service.CreateUploadRequest) { r.Languages = []string{"auto", "eng"} }, ocr.ELANGUAGE},
		{"filename with control character", func(r *service.CreateUploadRequest) { r.Filename = "a\x00.png" }, ocr.EFILENAME},
		{"filename with newline", func(r *service.CreateUploadRequest) { r.Filename = "a\n.png" }, ocr.EFILENAME},
		{"filename of 1000 characters", func(r *service.CreateUploadRequest) { r.Filename = strings.Repeat("a", 1000) }, ocr.EFILENAME},
		{"filename only a path", func(r *service.CreateUploadRequest) { r.Filename = "../" }, ocr.EFILENAME},
		{"filename empty", func(r *service.CreateUploadRequest) { r.Filename = "" }, ocr.EFILENAME},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			req := ok
			tc.edit(&req)
			_, err := e.uploads.Create(ctx, req)
			if got := ocr.ErrorCode(err); got != tc.code {
				t.Fatalf("Create = %v (code %q), want code %q", err, got, tc.code)
			}
			if ocr.ErrorMessage(err) == "" {
				t.Fatal("no message")
			}
		})
	}
}

func TestSanitizeFilename(t *testing.T) {
	for in, want := range map[string]string{
		"scan.png":             "scan.png",
		"../../etc/passwd":     "passwd",
		`C:\Users\me\scan.png`: "scan.png",
		"  spaced name.jpg  ":  "spaced name.jpg",
		"dir/":                 "dir",
		"Überweisung.png":      "Überweisung.png",
	} {
		got, err := service.SanitizeFilename(in)
		if err != nil || got != want {
			t.Errorf("SanitizeFilename(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestStatus_UnknownExpiredAndMalformedIDs(t *testing.T) {
	e := newEnv(t)
	unknown, _ := service.NewUploadID()
	if _, err := e.status.Get(ctx, unknown); ocr.ErrorCode(err) != ocr.ENOTFOUND {
		t.Fatalf("unknown id: %v", err)
	}
	for _, bad := range []string{"", "abc", strings.Repeat("A", 32), "../../x", strings.Repeat("a", 33)} {
		if _, err := e.status.Get(ctx, bad); ocr.ErrorCode(err) != ocr.EBADID {
			t.Errorf("malformed id %q: %v", bad, err)
		}
	}
	id := e.upload(t, "image/png", pngBytes(t, 10, 10, 255))
	e.clock.Set(e.clock.Now().Add(25 * time.Hour))
	if _, err := e.status.Get(ctx, id); ocr.ErrorCode(err) != ocr.ENOTFOUND {
		t.Fatalf("expired id: %v", err)
	}
}

// FuzzSanitizeFilename: a name that is accepted is a base name fit to show:
// no separators, no control characters, not "." or "..", within the limit.
func FuzzSanitizeFilename(f *testing.F) {
	for _, s := range []string{"scan.png", "../../etc/passwd", `C:\x\y.png`, "a\x00b", "..", " ", "Überweisung.pdf", strings.Repeat("a", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, err := service.SanitizeFilename(name)
		if err != nil {
			if ocr.ErrorCode(err) != ocr.EFILENAME {
				t.Fatalf("error code %q", ocr.ErrorCode(err))
			}
			return
		}
		if got == "" || got == "." || got == ".." || strings.ContainsAny(got, `/\`) || len(got) > service.MaxFilenameBytes {
			t.Fatalf("SanitizeFilename(%q) = %q", name, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) {
				t.Fatalf("SanitizeFilename(%q) = %q keeps a control character", name, got)
			}
		}
	})
}

// An upload whose file may wait for its S3 event behind a backlog (the
// process function at its reserved concurrency) stays pending, decided
// from its record alone, until every attempt at such an event is over:
// then it failed not_uploaded.
func TestStatus_NoFileIsNotUploadedOnlyOnceNoEventCanStillCome(t *testing.T) {
	e := newEnv(t)
	e.status.StuckAfter = 7 * time.Hour
	out, err := e.uploads.Create(ctx, service.CreateUploadRequest{Filename: "a.png", ContentType: "image/png", Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, after := range []time.Duration{11 * time.Minute, 13 * time.Minute, 7 * time.Hour} {
		e.clock.Set(out.ExpiresAt.Add(after - 10*time.Minute))
		if st, _ := e.status.Get(ctx, out.UploadID); st.Status != ocr.StatusPending || st.Error != nil {
			t.Fatalf("%s after presign: %+v; want pending", after, st)
		}
	}
	e.clock.Set(out.ExpiresAt.Add(7*time.Hour + 3*time.Minute))
	st, err := e.status.Get(ctx, out.UploadID)
	if err != nil || st.Status != ocr.StatusFailed || st.Error == nil || st.Error.Code != ocr.ENOTUPLOADED {
		t.Fatalf("past the link, its grace and every attempt: %+v %v; want failed not_uploaded", st, err)
	}
}

// A file that arrived is read however long its event waited.
func TestStatus_FileThatArrivedIsPendingPastThePOSTExpiryAndThenRead(t *testing.T) {
	e := newEnv(t)
	e.status.StuckAfter = 7 * time.Hour
	id := e.upload(t, "image/png", pngBytes(t, 60, 30, 255)) // stored, its event not handled
	e.clock.Set(e.clock.Now().Add(6 * time.Hour))
	if st, err := e.status.Get(ctx, id); err != nil || st.Status != ocr.StatusPending || st.Error != nil {
		t.Fatalf("6 h after presign, its event queued: %+v %v; want pending", st, err)
	}
	e.process(t, id)
	if st := e.get(t, id); st.Status != ocr.StatusDone {
		t.Fatalf("once its event is handled: %+v; want done", st)
	}
}

func TestValidateLanguages_AutoAloneIsKeptAndKeysItsOwnResults(t *testing.T) {
	got, err := service.ValidateLanguages([]string{"auto", "auto"}, []string{"eng", "fra"})
	if err != nil || !slices.Equal(got, []string{"auto"}) {
		t.Fatalf("ValidateLanguages(auto) = %v %v", got, err)
	}
	auto := ocr.Options{Languages: got}.ResultKey("abc", "5")
	for _, explicit := range [][]string{{"eng"}, {"eng", "fra"}} {
		if auto == (ocr.Options{Languages: explicit}).ResultKey("abc", "5") {
			t.Fatalf("auto shares its result key with %v", explicit)
		}
	}
	if info := service.InfoLanguages([]string{"eng", "fra"}); !slices.Equal(info, []string{"eng", "fra", "auto"}) {
		t.Fatalf("GET /info languages %v", info)
	}
}
