package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/bench"
	"github.com/s3ocr/s3ocr/internal/dynamostore"

	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/service"
)

// TestFaults_DynamoDBRestartMidBatchLosesNothing stops the DynamoDB server
// while a batch is being processed and starts it again: attempts that fail
// return errors, Lambda's retries finish them, and every upload ends done.
func TestFaults_DynamoDBRestartMidBatchLosesNothing(t *testing.T) {
	const n = 12
	pages := variants(t, testdata(t, "hello.png"), 1<<15, n)
	before := stack.Lambda.Stats(processFunction)
	var ups []service.CreatedUpload
	for i := range n {
		ups = append(ups, createUpload(t, service.CreateUploadRequest{Filename: fmt.Sprintf("fault-%d.png", i), ContentType: "image/png", Size: int64(len(pages[i]))}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Half the batch arrives, DynamoDB goes away and the rest arrives while
	// it is down (each event in a container of its own, as Lambda scales
	// out). Once an invocation has failed for it (after the SDK's own
	// retries of a call gave up), the function's queued attempts are held
	// while DynamoDB comes back: retries then find it up however long the
	// restart takes on a loaded machine. Timing the outage instead (a
	// fixed 8 s, or "until three failures") once outlasted all three
	// attempts of an event and lost it to the dead-letter queue.
	for i, up := range ups {
		if i == n/2 {
			if err := stack.StopDynamo(); err != nil {
				t.Fatal(err)
			}
		}
		mustPost(t, up, pages[i])
	}
	if err := stack.RecoverDynamo(ctx, processFunction, before.Failures); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, up := range ups {
		ids = append(ids, up.UploadID)
	}
	for _, id := range ids {
		if st := waitTerminal(t, id); st.Status != ocr.StatusDone {
			t.Errorf("upload %s ended %s %+v", id, st.Status, st.Error)
		}
	}
	if err := stack.Lambda.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	after := stack.Lambda.Stats(processFunction)
	failures := after.Failures - before.Failures
	if n := after.DeadLettered - before.DeadLettered; n != 0 {
		t.Fatalf("%d events dead-lettered: uploads were given up on", n)
	}
	if failures == 0 {
		t.Fatalf("no invocation failed while DynamoDB was down: the outage missed the batch, so this test proved nothing")
	}
	t.Logf("%d invocations failed during the outage and were retried", failures)
}

// TestFaults_ContentThatKillsEveryWorkerEndsFailedAndTheStackServesOn kills
// the process function's container (SIGKILL of its process group, as the
// OOM killer or a crash would) while it reads an upload, on Lambda's first
// two attempts: the third finds two dead workers' claims and fails the
// upload with crashed instead of dying again into the dead-letter queue.
func TestFaults_ContentThatKillsEveryWorkerEndsFailedAndTheStackServesOn(t *testing.T) {
	settle(t)
	page, err := bench.A4Page()
	if err != nil {
		t.Fatal(err)
	}
	img, err := bench.VariantPNG(page, int(time.Now().UnixNano()%1_000_000)+7)
	if err != nil {
		t.Fatal(err)
	}
	var info service.Info
	if status, b := doJSON(t, "GET", "/info", nil); status != 200 || json.Unmarshal(b, &info) != nil {
		t.Fatalf("GET /info = %d %s", status, b)
	}
	key := ocr.Options{Languages: []string{"eng"}}.ResultKey(sha256Hex(img), info.Engine.Version)
	store := dynamostore.New(stack.Dynamo, stack.Table, time.Now)
	up := createUpload(t, service.CreateUploadRequest{Filename: "a4.png", ContentType: "image/png", Size: int64(len(img))})
	mustPost(t, up, img)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for takeovers := range 2 {
		// Wait for the attempt that holds the claim with this many dead
		// workers behind it, and kill it mid-page.
		for {
			if ctx.Err() != nil {
				t.Fatalf("no attempt claimed the content with %d takeovers", takeovers)
			}
			rec, err := store.Result(ctx, key)
			if err == nil && rec.State == ocr.ResultProcessing && rec.Takeovers == takeovers {
				if n, err := stack.Lambda.KillBusy(processFunction); err != nil || n > 0 {
					t.Logf("attempt %d killed while reading (%d container)", takeovers+1, n)
					break
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	st := waitTerminal(t, up.UploadID)
	if st.Status != ocr.StatusFailed || st.Error.Code != ocr.ECRASHED {
		t.Fatalf("upload = %s %+v, want failed crashed", st.Status, st.Error)
	}
	settle(t)
	if ds, _ := stack.DeadLetters(); len(ds) != 0 {
		t.Errorf("events dead-lettered: %v", ds)
	}
	// The stack serves on: a normal page is read.
	if st := uploadAndWait(t, "hello.png", "image/png", testdata(t, "hello.png")); st.Status != ocr.StatusDone {
		t.Fatalf("after the crashes, a normal page = %s %+v", st.Status, st.Error)
	}
}
