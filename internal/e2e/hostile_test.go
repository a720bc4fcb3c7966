package e2e

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/bench"
	"github.com/s3ocr/s3ocr/internal/hostile"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/service"
)

// peakMemoryLimit is issue 13's bound on the process function's whole
// process tree (the function and the helpers it runs) while it reads one
// upload.
const peakMemoryLimit = 512 << 20

// invocations sums up the process function's invocations that read an
// upload, as the Lambda service reports them (REPORT's Duration and Max
// Memory Used): the time spent reading it, not waiting for MinIO's event or
// for a poll, and the peak memory of the function's whole process tree (the
// function and the helpers it ran).
func invocations(t *testing.T, uploadID string) (took time.Duration, peakMB int) {
	t.Helper()
	settle(t)
	seen := 0
	for _, r := range stack.Lambda.Stats(processFunction).Reports {
		if strings.Contains(r.Event, "uploads/"+uploadID) {
			seen++
			took += r.Duration
			peakMB = max(peakMB, r.MaxMemoryUsedMB)
		}
	}
	if seen == 0 {
		t.Fatalf("no invocation of %s reported reading upload %s", processFunction, uploadID)
	}
	return took, peakMB
}

// TestHostile_EachFileEndsAsItMustAndTheServiceReadsOnAfter sends every
// case of the hostile corpus through the whole flow (create the upload,
// POST the file to S3, the event, processing, polling the status). Each must
// end done or failed with one of its codes, within twice the time a normal
// page takes (at least hostileFloor); afterwards a normal page is still read.
func TestHostile_EachFileEndsAsItMustAndTheServiceReadsOnAfter(t *testing.T) {
	normal, normalMB := timeNormalPage(t, "before")
	t.Logf("normal page (A4, 300 dpi): read in %v, %d MB", normal.Round(time.Millisecond), normalMB)

	type row struct {
		name, verdict, outcome, want string
		took                         time.Duration
		peakMB                       int
	}
	var rows []row
	for _, c := range hostile.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			outcome, id, detail := hostileOutcome(t, c)
			r := row{name: c.Name, verdict: "ok", outcome: outcome, want: strings.Join(c.Want, ",")}
			if !c.Accepts(outcome) {
				r.verdict = "WRONG"
				t.Errorf("ended %s (%s), want one of %v\n(%s)", outcome, detail, c.Want, c.Why)
			}
			if id != "" { // refused by the API itself: nothing was invoked
				r.took, r.peakMB = invocations(t, id)
				if r.peakMB<<20 >= peakMemoryLimit {
					r.verdict = "FAT"
					t.Errorf("reading it peaked at %d MB, over %d MB", r.peakMB, peakMemoryLimit>>20)
				}
			}
			rows = append(rows, r)
		})
	}
	after, _ := timeNormalPage(t, "after")
	// Twice the slower of the two normal pages read around the corpus: the
	// machine's load moves both alike.
	limit := 2 * max(normal, after)
	var table []string
	for _, r := range rows {
		if r.took > limit {
			r.verdict = "SLOW"
			t.Errorf("%s took %v to read, over twice a normal page (%v)", r.name, r.took.Round(time.Millisecond), limit)
		}
		table = append(table, fmt.Sprintf("%-36s %-5s %-16s want %-40s %5.2fs %4.2fx %4d MB",
			r.name, r.verdict, r.outcome, r.want, r.took.Seconds(), float64(r.took)/float64(max(normal, after)), r.peakMB))
	}
	t.Logf("normal page %v before, %v after; outcomes (verdict, outcome, wanted, time reading it, against a normal page, peak memory of the function's process tree):\n%s",
		normal.Round(time.Millisecond), after.Round(time.Millisecond), strings.Join(table, "\n"))
}

// hostileOutcome uploads c and returns Done or the failure code, the upload
// id, and the error message. The API may refuse the upload itself (an empty
// file is refused when it is declared): its code is the outcome then.
func hostileOutcome(t *testing.T, c hostile.Case) (outcome, id, detail string) {
	t.Helper()
	req := service.CreateUploadRequest{Filename: c.Name, ContentType: c.ContentType, Size: int64(len(c.Data))}
	status, body := doJSON(t, http.MethodPost, "/uploads", req)
	if status != http.StatusCreated {
		var e struct{ Error ocr.Error }
		if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" {
			t.Fatalf("POST /uploads = %d %s", status, body)
		}
		return e.Error.Code, "", "refused by the API: " + e.Error.Message
	}
	var up service.CreatedUpload
	if err := json.Unmarshal(body, &up); err != nil {
		t.Fatal(err)
	}
	mustPost(t, up, c.Data)
	st := waitTerminal(t, up.UploadID)
	switch {
	case st.Status == ocr.StatusDone:
		return hostile.Done, up.UploadID, ""
	case st.Error != nil:
		return st.Error.Code, up.UploadID, st.Error.Message
	}
	return string(st.Status), up.UploadID, "failed without an error"
}

// timeNormalPage reads an A4 page at 300 dpi (the page make bench reads)
// through the whole flow and returns the time and peak memory its reading
// took. Its bytes are new on every call, so no earlier result is reused.
func timeNormalPage(t *testing.T, when string) (time.Duration, int) {
	t.Helper()
	page, err := bench.A4Page()
	if err != nil {
		t.Fatal(err)
	}
	img, err := bench.VariantPNG(page, int(time.Now().UnixNano()%1_000_000))
	if err != nil {
		t.Fatal(err)
	}
	up := createUpload(t, service.CreateUploadRequest{Filename: "a4-" + when + ".png", ContentType: "image/png", Size: int64(len(img))})
	mustPost(t, up, img)
	st := waitTerminal(t, up.UploadID)
	if st.Status != ocr.StatusDone || st.Cached || len(words(st.Result.Text)) < 300 {
		t.Fatalf("normal page %s the corpus: %s cached=%v %+v", when, st.Status, st.Cached, st.Error)
	}
	return invocations(t, up.UploadID)
}

// withTextChunk adds a tEXt chunk after a PNG's header chunk.
func withTextChunk(png []byte, key, text string) []byte {
	const ihdrEnd = 8 + 4 + 4 + 13 + 4
	data := append([]byte(key+"\x00"), text...)
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(append(c, "tEXt"...), data...)
	c = binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
	out := append(append([]byte(nil), png[:ihdrEnd]...), c...)
	return append(out, png[ihdrEnd:]...)
}
