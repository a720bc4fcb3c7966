package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

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
	// Half the batch arrives, DynamoDB goes away, the rest arrives while it
	// is down (each event in a container of its own, as Lambda scales out),
	// and it comes back once invocations have failed for it (three, half
	// the events sent meanwhile): after the SDK's own retries of a call (3
	// attempts, jittered backoff) gave up.
	// Waiting for that, not for a fixed time, keeps the outage inside
	// Lambda's retries however loaded the machine is: a fixed 8 s once
	// outlasted all three attempts of an event and dead-lettered it.
	for i, up := range ups {
		if i == n/2 {
			if err := stack.StopDynamo(); err != nil {
				t.Fatal(err)
			}
		}
		mustPost(t, up, pages[i])
	}
	for stack.Lambda.Stats(processFunction).Failures-before.Failures < 3 {
		if ctx.Err() != nil {
			t.Fatal("fewer than three invocations failed within a minute of DynamoDB stopping")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := stack.StartDynamo(ctx); err != nil {
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
