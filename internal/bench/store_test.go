package bench

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3ocr/s3ocr/internal/dynamostore"
	"github.com/s3ocr/s3ocr/internal/service"
)

// read is a page already read: its bytes, and a done upload of them.
type read struct {
	content   []byte
	uploadID  string
	resultKey string
}

var readOnce struct {
	once sync.Once
	read read
}

// readPage reads the A4 page once through a process container and returns
// it, for the benchmarks that need content already read.
func readPage(b *testing.B, e *env) read {
	b.Helper()
	readOnce.once.Do(func() {
		proc, _ := e.process(b)
		content := variant(b, page(b), -1)
		id, ev := e.upload(b, content, "image/png")
		if err := proc.Handle(context.Background(), ev); err != nil {
			b.Fatal(err)
		}
		u, err := e.status.Status.Store.Upload(context.Background(), id)
		if err != nil {
			b.Fatal(err)
		}
		readOnce.read = read{content: content, uploadID: id, resultKey: u.ResultKey}
	})
	if readOnce.read.uploadID == "" {
		b.Fatal("the page could not be read")
	}
	return readOnce.read
}

// The table's layout (internal/dynamostore): one item per upload and one per
// result, keyed "upload#<id>" and "result#<key>". The bare reads check that
// they find the items, so a change of layout fails here rather than timing
// misses.
func uploadPK(id string) string  { return "upload#" + id }
func resultPK(key string) string { return "result#" + key }

// getItem is the bare read: one strongly consistent GetItem, as the store
// reads, with nothing decoded.
func (e *env) getItem(ctx context.Context, pk string) error {
	out, err := e.stack.Dynamo.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &e.stack.Table,
		Key:            map[string]types.AttributeValue{dynamostore.PartitionKey: &types.AttributeValueMemberS{Value: pk}},
		ConsistentRead: aws.Bool(true),
	})
	if err == nil && out.Item == nil {
		err = fmt.Errorf("no item %s", pk)
	}
	return err
}

// BenchmarkDuplicate is an upload of content already read: from the S3
// event reaching the process function to the upload done, served from the
// stored result with no OCR. ns/op is the handler. The floor beside it is
// what any deduplication must do, measured in the same iterations: read the
// whole object from S3 (to hash it) and one GetItem.
func BenchmarkDuplicate(b *testing.B) {
	e := stack(b)
	ctx := context.Background()
	r := readPage(b, e)
	proc, rec := e.process(b)
	// Warm: the container's first call opens its connections.
	if _, ev := e.upload(b, r.content, "image/png"); proc.Handle(ctx, ev) != nil {
		b.Fatal("warm-up call failed")
	}
	runs := proc.Processor.Stats.OCRRuns.Load()
	var handlerT, floorT []time.Duration
	for b.Loop() {
		b.StopTimer()
		id, ev := e.upload(b, r.content, "image/png")
		key := ev.Records[0].S3.Object.URLDecodedKey
		t0 := time.Now()
		obj, err := e.stack.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: &e.stack.Bucket, Key: &key})
		if err != nil {
			b.Fatal(err)
		}
		_, err = io.Copy(io.Discard, obj.Body)
		obj.Body.Close()
		if err == nil {
			err = e.getItem(ctx, resultPK(r.resultKey))
		}
		if err != nil {
			b.Fatal(err)
		}
		floorT = append(floorT, time.Since(t0))
		b.StartTimer()

		t0 = time.Now()
		err = proc.Handle(ctx, ev)
		handlerT = append(handlerT, time.Since(t0))

		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if out := rec.Last(); out.Outcome != service.OutcomeCached || out.UploadID != id {
			b.Fatalf("upload %s: outcome %s, want cached", id, out.Outcome)
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(proc.Processor.Stats.OCRRuns.Load()-runs), "ocr-runs")
	b.ReportMetric(float64(len(r.content))/1024, "file-KB")
	b.ReportMetric(ms(percentile(handlerT, .5)), "p50-ms")
	b.ReportMetric(ms(percentile(handlerT, .9)), "p90-ms")
	b.ReportMetric(ms(percentile(handlerT, .99)), "p99-ms")
	b.ReportMetric(ms(percentile(floorT, .5)), "floor-p50-ms")
	b.ReportMetric(float64(percentile(handlerT, .5))/float64(percentile(floorT, .5)), "handler/floor")
}

// BenchmarkStatus is GET /uploads/{id} through the status function's
// handler (the API Gateway event in, the JSON response out), beside bare
// GetItems of the same items in the same iterations:
//
//   - pending: an upload whose file has not arrived; the handler reads the
//     upload's item, and the reference is that one GetItem.
//   - done: a one-page upload that is done; the handler reads the upload's
//     item, then the result's (about 390 words with their boxes), and
//     returns the result. The references are one GetItem of the upload's
//     item, and the same two GetItems one after the other.
//
// ns/op is the handler.
func BenchmarkStatus(b *testing.B) {
	e := stack(b)
	ctx := context.Background()
	b.Run("pending", func(b *testing.B) {
		up, err := e.uploads.Create(ctx, service.CreateUploadRequest{Filename: "p.png", ContentType: "image/png", Size: 1000})
		if err != nil {
			b.Fatal(err)
		}
		statusLoop(b, e, up.UploadID, `"pending"`, [][]string{{uploadPK(up.UploadID)}})
	})
	b.Run("done", func(b *testing.B) {
		r := readPage(b, e)
		statusLoop(b, e, r.uploadID, `"done"`, [][]string{{uploadPK(r.uploadID)}, {uploadPK(r.uploadID), resultPK(r.resultKey)}})
	})
}

// statusLoop times the handler on id against each reference: a list of
// items read one after the other. It reports the handler's percentiles, the
// references' medians and the handler's median over each.
func statusLoop(b *testing.B, e *env, id, want string, refs [][]string) {
	ctx := context.Background()
	var body int
	call := func() time.Duration {
		t0 := time.Now()
		resp, err := getUpload(ctx, e.status, id)
		d := time.Since(t0)
		if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, want) {
			b.Fatalf("GET /uploads/%s = %d %.200s %v", id, resp.StatusCode, resp.Body, err)
		}
		body = len(resp.Body)
		return d
	}
	bare := func(pks []string) time.Duration {
		t0 := time.Now()
		for _, pk := range pks {
			if err := e.getItem(ctx, pk); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(t0)
	}
	call() // warm: connections open
	var handlerT []time.Duration
	refT := make([][]time.Duration, len(refs))
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		// The references come before the handler in odd iterations and
		// after it in even ones.
		if i%2 == 1 {
			for k, pks := range refs {
				refT[k] = append(refT[k], bare(pks))
			}
		}
		b.StartTimer()
		handlerT = append(handlerT, call())
		b.StopTimer()
		if i%2 == 0 {
			for k, pks := range refs {
				refT[k] = append(refT[k], bare(pks))
			}
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(body)/1024, "body-KB")
	b.ReportMetric(us(percentile(handlerT, .5)), "p50-us")
	b.ReportMetric(us(percentile(handlerT, .9)), "p90-us")
	b.ReportMetric(us(percentile(handlerT, .99)), "p99-us")
	for k, pks := range refs {
		name := "getitem"
		if len(pks) > 1 {
			name = "getitems"
		}
		b.ReportMetric(us(percentile(refT[k], .5)), name+"-p50-us")
		b.ReportMetric(us(percentile(refT[k], .9)), name+"-p90-us")
		b.ReportMetric(us(percentile(refT[k], .99)), name+"-p99-us")
		b.ReportMetric(float64(percentile(handlerT, .5))/float64(percentile(refT[k], .5)), "handler/"+name)
	}
}

// BenchmarkStatusThroughput is requests per second from concurrent
// clients (4 per CPU) for the done upload: through the status handler, as
// bare GetItems of its upload's item, and as bare GetItems of both items the
// handler reads. dynalite serves them all.
func BenchmarkStatusThroughput(b *testing.B) {
	e := stack(b)
	r := readPage(b, e)
	ctx := context.Background()
	run := func(b *testing.B, op func() error) {
		b.SetParallelism(4)
		t0 := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := op(); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "req/s")
	}
	b.Run("handler", func(b *testing.B) {
		run(b, func() error {
			resp, err := getUpload(ctx, e.status, r.uploadID)
			if err == nil && resp.StatusCode != 200 {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
			return err
		})
	})
	b.Run("getitem", func(b *testing.B) {
		run(b, func() error { return e.getItem(ctx, uploadPK(r.uploadID)) })
	})
	b.Run("getitems", func(b *testing.B) {
		run(b, func() error {
			if err := e.getItem(ctx, uploadPK(r.uploadID)); err != nil {
				return err
			}
			return e.getItem(ctx, resultPK(r.resultKey))
		})
	})
}
