package portable

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3ocr/s3ocr/internal/localstack"
	"github.com/s3ocr/s3ocr/internal/runtimeapi"
)

// BenchmarkColdStart measures what a new Lambda execution environment of
// the process function costs, with the built bootstrap and layer in an
// empty root (as TestBootstrap_RunsInAnEmptyRootAgainstRealServers runs
// them): init-ms is process start to its first request for an event (Lambda's
// Init Duration), first-event-ms the first event's time (an A4-wide page of
// text, so it includes loading the model), warm-event-ms the same work on
// the next event in the same process, and model-load-ms the difference.
// Each iteration starts a new process; each event carries new bytes, so
// nothing is served from the cache.
func BenchmarkColdStart(b *testing.B) {
	moduleRoot, rootfs, stack := inEmptyRoot(b)
	page, err := os.ReadFile(filepath.Join(moduleRoot, "testdata", "invoice.png"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	env := functionEnv(stack)

	// event puts a new variant of the page under the function's prefix and
	// returns its S3 event.
	n := 0
	event := func() []byte {
		n++
		content := pngVariant(b, page, n)
		id := createUpload(b, stack.APIURL, "page.png", "image/png", len(content))
		key := prefix + id
		if _, err := stack.S3.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(stack.Bucket), Key: aws.String(key), Body: bytes.NewReader(content), ContentType: aws.String("image/png"),
		}); err != nil {
			b.Fatal(err)
		}
		payload, err := json.Marshal(s3Event(stack, object{key, len(content)}))
		if err != nil {
			b.Fatal(err)
		}
		return payload
	}

	var initD, first, warm time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e1, e2 := event(), event()
		f := &runtimeapi.Function{Path: "/var/task/bootstrap", Chroot: rootfs, Env: env, Name: "ProcessFunction",
			MemoryMB: 1769, Timeout: time.Minute}
		b.StartTimer()
		r1, err := f.Invoke(ctx, e1)
		if err != nil || r1.Error != nil || !r1.ColdStart {
			b.Fatalf("first event: %v %+v", err, r1)
		}
		r2, err := f.Invoke(ctx, e2)
		if err != nil || r2.Error != nil || r2.ColdStart {
			b.Fatalf("second event: %v %+v", err, r2)
		}
		b.StopTimer()
		f.Close()
		b.StartTimer()
		initD += r1.InitDuration
		first += r1.Duration
		warm += r2.Duration
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(b.N) }
	b.ReportMetric(ms(initD), "init-ms")
	b.ReportMetric(ms(first), "first-event-ms")
	b.ReportMetric(ms(warm), "warm-event-ms")
	b.ReportMetric(ms(first-warm), "model-load-ms")
}

// inEmptyRoot is what the benchmarks of the deployed artifacts start from:
// the amd64 bootstrap and layer (qemu would time the emulator) in an empty
// root, and a local stack that is stopped when the benchmark ends.
func inEmptyRoot(b *testing.B) (moduleRoot, rootfs string, stack *localstack.Stack) {
	b.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(b, "portable: chroot needs root")
	}
	moduleRoot, fn, layer := artifacts(b, arches[0])
	rootfs = emptyRoot(b, fn, layer)
	stack, err := localstack.Start(context.Background(), localstack.Options{
		Log:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Parameters: map[string]string{"LogLevel": "warn"},
	})
	if err != nil {
		skipOrFail(b, "portable: %v", err)
	}
	b.Cleanup(func() { stack.Close() })
	return moduleRoot, rootfs, stack
}

const prefix = "portable/"

// functionEnv is the chrooted process function's environment: the one the
// stack gives its own process function, with an upload prefix of its own
// (where the stack's functions get no notifications) and the layer's paths.
func functionEnv(stack *localstack.Stack) map[string]string {
	env := stack.FunctionEnv("ProcessFunction")
	env["UPLOAD_PREFIX"] = prefix
	env["TESSDATA_PREFIX"] = "/opt/share/tessdata"
	env["OMP_THREAD_LIMIT"] = "1"
	return env
}

// object is an S3 object an event names.
type object struct {
	key  string
	size int
}

// s3Event is the event S3 sends when objs are created in the stack's bucket.
func s3Event(stack *localstack.Stack, objs ...object) events.S3Event {
	var e events.S3Event
	for _, o := range objs {
		e.Records = append(e.Records, events.S3EventRecord{
			EventVersion: "2.1", EventSource: "aws:s3", AWSRegion: stack.Env["AWS_REGION"],
			EventTime: time.Now().UTC(), EventName: "ObjectCreated:Put",
			S3: events.S3Entity{
				SchemaVersion: "1.0",
				Bucket:        events.S3Bucket{Name: stack.Bucket, Arn: "arn:aws:s3:::" + stack.Bucket},
				Object:        events.S3Object{Key: o.key, Size: int64(o.size)},
			},
		})
	}
	return e
}

// pngVariant is the same image with a tEXt chunk after IHDR that makes its
// bytes, and so its content hash, unique.
func pngVariant(t testing.TB, png []byte, n int) []byte {
	const sigAndIHDR = 8 + 4 + 4 + 13 + 4
	if len(png) < sigAndIHDR || string(png[12:16]) != "IHDR" {
		t.Fatal("not a PNG starting with IHDR")
	}
	data := []byte("Comment\x00variant " + time.Now().Format(time.RFC3339Nano) + " " + string(rune('a'+n%26)))
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	chunk = append(chunk, "tEXt"...)
	chunk = append(chunk, data...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	out := append([]byte{}, png[:sigAndIHDR]...)
	out = append(out, chunk...)
	return append(out, png[sigAndIHDR:]...)
}
