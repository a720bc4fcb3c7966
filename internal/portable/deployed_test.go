package portable

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3ocr/s3ocr/internal/bench"
	"github.com/s3ocr/s3ocr/internal/localstack"
	"github.com/s3ocr/s3ocr/internal/runtimeapi"
)

// BenchmarkDeployedPage is item 1 of make bench for the artifact that is
// deployed: the static process function bootstrap and the layer of
// make build-ProcessFunction and build-TesseractLayer (amd64, so that no
// emulator is timed), chrooted into an empty root and driven through the
// Runtime API harness, on a warm container (one event read before timing),
// against the tesseract command line of this machine on the same A4 page
// (internal/bench's) with the same model file (the layer's), the same page
// segmentation and OMP_THREAD_LIMIT. Each iteration reads a new variant of
// the page both ways, in an order that turns, so a noisy neighbour slows
// both alike. bootstrap-ms/page runs from the Runtime API handing out the
// event to the function posting its response: reading and hashing the
// object from MinIO, OCR, storing the result in dynalite, finishing the
// upload.
func BenchmarkDeployedPage(b *testing.B) {
	cli, rootfs, stack, img := againstCLI(b)
	ctx := context.Background()
	f := &runtimeapi.Function{Path: "/var/task/bootstrap", Chroot: rootfs, Env: functionEnv(stack), Name: "ProcessFunction",
		MemoryMB: 2048, Timeout: time.Minute}
	defer f.Close()
	tessdata := filepath.Join(rootfs, "opt", "share", "tessdata") // the layer's models, for the CLI too
	dir := b.TempDir()

	put := func(content []byte) (string, []byte) { return putUpload(b, stack, "page.png", "image/png", content) }
	invoke := func(payload []byte) time.Duration {
		r, err := f.Invoke(ctx, payload)
		if err != nil || r.Error != nil {
			b.Fatalf("bootstrap: %v %+v", err, r)
		}
		return r.Duration
	}
	runCLI := func(file string) (time.Duration, time.Duration, string) {
		var out bytes.Buffer
		cmd := exec.Command(cli, bench.CLIArgs(file, tessdata)...)
		cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
		cmd.Stdout = &out
		t0 := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatal("tesseract:", err)
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		return time.Since(t0), cpu, out.String()
	}

	// Warm up: the bootstrap's engine and model loaded, its connections
	// open; the CLI's files in the page cache.
	warm, err := bench.VariantPNG(bench.WarmUpPage(img), 0)
	if err != nil {
		b.Fatal(err)
	}
	_, ev := put(warm)
	invoke(ev)
	warmFile := filepath.Join(dir, "warm.png")
	if err := os.WriteFile(warmFile, warm, 0o644); err != nil {
		b.Fatal(err)
	}
	runCLI(warmFile)

	var bootT, bootCPU, cliT, cliCPU []time.Duration
	var lastID, lastCLI string
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		content, err := bench.VariantPNG(img, i)
		if err != nil {
			b.Fatal(err)
		}
		file := filepath.Join(dir, strconv.Itoa(i)+".png")
		if err := os.WriteFile(file, content, 0o644); err != nil {
			b.Fatal(err)
		}
		id, ev := put(content)
		steps := []func(){
			func() {
				c0 := processCPU(b, f.PID())
				b.StartTimer()
				d := invoke(ev)
				b.StopTimer()
				bootT, bootCPU = append(bootT, d), append(bootCPU, processCPU(b, f.PID())-c0)
			},
			func() {
				d, cpu, text := runCLI(file)
				cliT, cliCPU, lastCLI = append(cliT, d), append(cliCPU, cpu), text
			},
		}
		for k := range steps {
			steps[(k+i)%len(steps)]()
		}
		lastID = id
		b.StartTimer()
	}
	b.StopTimer()
	st := status(b, stack.APIURL, lastID)
	if st.Status != "done" || st.Result == nil {
		b.Fatalf("upload %s: %+v", lastID, st)
	}
	words := strings.Fields(st.Result.Text)
	h, c := median(bootT), median(cliT)
	b.ReportMetric(float64(len(words)), "words/page")
	b.ReportMetric(bench.SameWords(words, strings.Fields(lastCLI)), "same-words")
	b.ReportMetric(msf(h), "bootstrap-ms/page")
	b.ReportMetric(msf(c), "cli-ms/page")
	b.ReportMetric(float64(h)/float64(c), "bootstrap/cli")
	b.ReportMetric(msf(median(bootCPU)), "bootstrap-cpu-ms/page")
	b.ReportMetric(msf(median(cliCPU)), "cli-cpu-ms/page")
}

// processCPU is the user and system CPU time a process has used so far,
// from /proc/PID/stat (fields 14 and 15, in clock ticks of 1/100 s on
// Linux).
func processCPU(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		tb.Fatal(err)
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		tb.Fatalf("/proc/%d/stat: %q", pid, b)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// againstCLI is what the benchmarks of the deployed bootstrap against the
// tesseract command line start from: the CLI, the empty root and its stack
// (inEmptyRoot), and internal/bench's A4 page.
func againstCLI(b *testing.B) (cli, rootfs string, stack *localstack.Stack, img *image.Gray) {
	b.Helper()
	cli, err := exec.LookPath("tesseract")
	if err != nil {
		skipOrFail(b, "portable: the tesseract command line is the reference: %v", err)
	}
	_, rootfs, stack = inEmptyRoot(b)
	if img, err = bench.A4Page(); err != nil {
		b.Fatal(err)
	}
	return cli, rootfs, stack, img
}

// putUpload creates an upload through the stack's API, stores content as
// its object under the chrooted function's prefix, and returns the upload's
// id and the S3 event for it.
func putUpload(b *testing.B, stack *localstack.Stack, filename, contentType string, content []byte) (string, []byte) {
	b.Helper()
	id := createUpload(b, stack.APIURL, filename, contentType, len(content))
	if _, err := stack.S3.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(stack.Bucket), Key: aws.String(prefix + id), Body: bytes.NewReader(content), ContentType: aws.String(contentType),
	}); err != nil {
		b.Fatal(err)
	}
	payload, err := json.Marshal(s3Event(stack, object{prefix + id, len(content)}))
	if err != nil {
		b.Fatal(err)
	}
	return id, payload
}
