package dynamostore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/s3ocr/s3ocr/internal/dynamostore"
	"github.com/s3ocr/s3ocr/internal/localstack"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/ocr/storetest"
)

// endpointEnv points the tests at an already running DynamoDB-compatible
// server instead of a dynalite of their own, e.g. DynamoDB Local, which
// unlike dynalite returns the item with a failed condition.
const endpointEnv = "S3OCR_TEST_DYNAMODB_ENDPOINT"

var (
	client     *dynamodb.Client // nil when the tests skip
	skipReason string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	endpoint := os.Getenv(endpointEnv)
	if endpoint == "" {
		d, err := localstack.StartDynalite(ctx, localstack.DynaliteOptions{})
		switch {
		case localstack.Skippable(err):
			skipReason = fmt.Sprintf("no DynamoDB to test against: %v; set S3OCR_REQUIRE_TOOLS=1 to fail instead", err)
			return m.Run()
		case err != nil:
			fmt.Fprintln(os.Stderr, "dynamostore tests: start dynalite:", err)
			return 1
		}
		defer d.Stop()
		endpoint = d.Endpoint
	}
	c, err := localstack.NewDynamoClient(ctx, endpoint)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dynamostore tests:", err)
		return 1
	}
	client = c
	return m.Run()
}

// dynamo returns the client of the tests' server, or skips the test when
// there is none.
func dynamo(t *testing.T) *dynamodb.Client {
	t.Helper()
	if client == nil {
		t.Skip(skipReason)
	}
	return client
}

var tables atomic.Int64

// newTable creates a fresh table, so that each test starts empty.
func newTable(t *testing.T) string {
	t.Helper()
	name := "s3ocr-test-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.FormatInt(tables.Add(1), 10)
	if err := dynamostore.CreateTable(context.Background(), dynamo(t), name); err != nil {
		t.Fatal(err)
	}
	return name
}

// rawItem reads an item as DynamoDB holds it.
func rawItem(t *testing.T, table, pk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := dynamo(t).GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      &table,
		Key:            map[string]types.AttributeValue{dynamostore.PartitionKey: &types.AttributeValueMemberS{Value: pk}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Item == nil {
		t.Fatalf("no item %s", pk)
	}
	return out.Item
}

func number(t *testing.T, item map[string]types.AttributeValue, name string) string {
	t.Helper()
	n, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		t.Fatalf("%s is %T, want a Number", name, item[name])
	}
	return n.Value
}

func TestStore_Contract(t *testing.T) {
	dynamo(t)
	storetest.Run(t, func(t *testing.T, c *storetest.Clock) ocr.Store {
		return dynamostore.New(client, newTable(t), c.Now)
	})
}

func TestStore_QuotasContract(t *testing.T) {
	dynamo(t)
	storetest.RunQuotas(t, func(t *testing.T) (ocr.Store, ocr.Quotas) {
		s := dynamostore.New(client, newTable(t), nil)
		return s, s
	})
}

func TestCreateTable_IsIdempotentOnDemandWithOnlyAPartitionKey(t *testing.T) {
	ctx := context.Background()
	name := newTable(t)
	if err := dynamostore.CreateTable(ctx, dynamo(t), name); err != nil {
		t.Fatalf("second CreateTable: %v", err)
	}
	out, err := dynamo(t).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &name})
	if err != nil {
		t.Fatal(err)
	}
	tbl := out.Table
	if tbl.TableStatus != types.TableStatusActive {
		t.Errorf("status = %s, want ACTIVE", tbl.TableStatus)
	}
	if len(tbl.KeySchema) != 1 || aws.ToString(tbl.KeySchema[0].AttributeName) != dynamostore.PartitionKey || tbl.KeySchema[0].KeyType != types.KeyTypeHash {
		t.Errorf("key schema = %+v, want only the partition key %s", tbl.KeySchema, dynamostore.PartitionKey)
	}
	if len(tbl.AttributeDefinitions) != 1 || tbl.AttributeDefinitions[0].AttributeType != types.ScalarAttributeTypeS {
		t.Errorf("attribute definitions = %+v, want one string", tbl.AttributeDefinitions)
	}
	if tbl.BillingModeSummary == nil || tbl.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing mode = %+v, want PAY_PER_REQUEST", tbl.BillingModeSummary)
	}
}

func TestCreateTable_RefusesATableWithAnotherKeySchema(t *testing.T) {
	ctx := context.Background()
	name := "s3ocr-test-other-schema-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	_, err := dynamo(t).CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   &name,
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := dynamostore.CreateTable(ctx, dynamo(t), name); err == nil {
		t.Fatal("CreateTable accepted a table with a sort key")
	}
}

func TestItems_ExpiryIsEpochSecondsUnderTheTTLAttribute(t *testing.T) {
	ctx := context.Background()
	table := newTable(t)
	s := dynamostore.New(dynamo(t), table, nil)
	exp := time.Now().Add(time.Hour).Truncate(time.Second).Add(300 * time.Millisecond)
	// Rounded up, so that an item never expires before its time.
	want := strconv.FormatInt(exp.Unix()+1, 10)

	if err := s.CreateUpload(ctx, &ocr.Upload{ID: "u1", Status: ocr.StatusPending, ContentType: "image/png", CreatedAt: time.Now(), ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	if got := number(t, rawItem(t, table, "upload#u1"), dynamostore.TTLAttribute); got != want {
		t.Errorf("upload %s = %s, want %s (epoch seconds)", dynamostore.TTLAttribute, got, want)
	}

	now := time.Now()
	if ok, _, err := s.ClaimResult(ctx, &ocr.ResultRecord{Key: "k", State: ocr.ResultProcessing, Owner: "u1",
		LeaseUntil: now.Add(time.Minute), CreatedAt: now, ExpiresAt: exp}, now); err != nil || !ok {
		t.Fatalf("ClaimResult = %v, %v", ok, err)
	}
	if got := number(t, rawItem(t, table, "result#k"), dynamostore.TTLAttribute); got != want {
		t.Errorf("result %s = %s, want %s (epoch seconds)", dynamostore.TTLAttribute, got, want)
	}
	if err := s.ExtendResult(ctx, "k", exp.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, want := number(t, rawItem(t, table, "result#k"), dynamostore.TTLAttribute), strconv.FormatInt(exp.Unix()+3601, 10); got != want {
		t.Errorf("extended %s = %s, want %s (epoch seconds)", dynamostore.TTLAttribute, got, want)
	}
}

func TestItems_ClaimHoldsLeaseInEpochMillisAndWaitersAsAStringSet(t *testing.T) {
	ctx := context.Background()
	table := newTable(t)
	s := dynamostore.New(dynamo(t), table, nil)
	now := time.Now()
	lease := now.Add(time.Minute).Truncate(time.Millisecond)
	if ok, _, err := s.ClaimResult(ctx, &ocr.ResultRecord{Key: "k", State: ocr.ResultProcessing, Owner: "u1",
		LeaseUntil: lease, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, now); err != nil || !ok {
		t.Fatalf("ClaimResult = %v, %v", ok, err)
	}
	for _, w := range []string{"u2", "u3", "u2"} {
		if ok, err := s.AddWaiter(ctx, "k", w); err != nil || !ok {
			t.Fatalf("AddWaiter(%s) = %v, %v", w, ok, err)
		}
	}
	item := rawItem(t, table, "result#k")
	if got, want := number(t, item, "leaseUntil"), strconv.FormatInt(lease.UnixMilli(), 10); got != want {
		t.Errorf("leaseUntil = %s, want %s (epoch milliseconds)", got, want)
	}
	ss, ok := item["waiters"].(*types.AttributeValueMemberSS)
	if !ok || len(ss.Value) != 2 {
		t.Errorf("waiters = %#v, want a string set of u2 and u3", item["waiters"])
	}
}

func TestItems_InlineResultIsANestedMapWithTheAPINames(t *testing.T) {
	ctx := context.Background()
	table := newTable(t)
	s := dynamostore.New(dynamo(t), table, nil)
	now := time.Now()
	rec := &ocr.ResultRecord{Key: "k", State: ocr.ResultProcessing, Owner: "u1", LeaseUntil: now.Add(time.Minute),
		Document: ocr.Document{SHA256: "ab", ContentType: "image/png", Size: 3}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if ok, _, err := s.ClaimResult(ctx, rec, now); err != nil || !ok {
		t.Fatalf("ClaimResult = %v, %v", ok, err)
	}
	rec.State, rec.LeaseUntil = ocr.ResultDone, time.Time{}
	rec.Result = &ocr.Result{Text: "hello", Pages: []ocr.Page{{Number: 1, Text: "hello"}}}
	if _, err := s.CompleteResult(ctx, rec); err != nil {
		t.Fatal(err)
	}
	item := rawItem(t, table, "result#k")
	res, ok := item["result"].(*types.AttributeValueMemberM)
	if !ok {
		t.Fatalf("result is %T, want a Map", item["result"])
	}
	if text, ok := res.Value["text"].(*types.AttributeValueMemberS); !ok || text.Value != "hello" {
		t.Errorf("result.text = %#v, want \"hello\"", res.Value["text"])
	}
	if _, ok := res.Value["pages"].(*types.AttributeValueMemberL); !ok {
		t.Errorf("result.pages = %#v, want a List", res.Value["pages"])
	}
	if doc, ok := item["document"].(*types.AttributeValueMemberM); !ok || doc.Value["sha256"] == nil {
		t.Errorf("document = %#v, want a Map with sha256", item["document"])
	}
	if _, ok := item["waiters"]; ok {
		t.Errorf("a finished result kept its waiters")
	}
}

func TestStore_FailedUploadStoresCodeAndMessageOnly(t *testing.T) {
	ctx := context.Background()
	table := newTable(t)
	s := dynamostore.New(dynamo(t), table, nil)
	if err := s.CreateUpload(ctx, &ocr.Upload{ID: "u1", Status: ocr.StatusPending, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	cause := &ocr.Error{Code: ocr.EBADIMAGE, Message: "broken", Err: errors.New("internal detail")}
	if ok, err := s.TransitionUpload(ctx, "u1", []ocr.Status{ocr.StatusPending}, ocr.UploadChange{Status: ocr.StatusFailed, Error: cause}); err != nil || !ok {
		t.Fatalf("TransitionUpload = %v, %v", ok, err)
	}
	e, ok := rawItem(t, table, "upload#u1")["error"].(*types.AttributeValueMemberM)
	if !ok || len(e.Value) != 2 || e.Value["code"] == nil || e.Value["message"] == nil {
		t.Fatalf("error = %#v, want a Map of code and message", e)
	}
}

func TestStore_UploadWithoutExpiryNeverExpires(t *testing.T) {
	ctx := context.Background()
	table := newTable(t)
	clock := &storetest.Clock{}
	clock.Set(time.Now())
	s := dynamostore.New(dynamo(t), table, clock.Now)
	if err := s.CreateUpload(ctx, &ocr.Upload{ID: "u1", Status: ocr.StatusPending}); err != nil {
		t.Fatal(err)
	}
	if _, ok := rawItem(t, table, "upload#u1")[dynamostore.TTLAttribute]; ok {
		t.Errorf("an upload without ExpiresAt has %s", dynamostore.TTLAttribute)
	}
	clock.Set(time.Now().Add(10 * 365 * 24 * time.Hour))
	if u, err := s.Upload(ctx, "u1"); err != nil || !u.ExpiresAt.IsZero() {
		t.Fatalf("Upload = %+v, %v; want it, without ExpiresAt", u, err)
	}
	if ok, err := s.TransitionUpload(ctx, "u1", []ocr.Status{ocr.StatusPending}, ocr.UploadChange{Status: ocr.StatusProcessing}); err != nil || !ok {
		t.Fatalf("TransitionUpload = %v, %v; want true", ok, err)
	}
}

func TestStore_UnreachableDynamoDBIsATransientErrorWithoutCode(t *testing.T) {
	addr, err := localstack.FreeAddr() // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	c, err := localstack.NewDynamoClient(context.Background(), "http://"+addr)
	if err != nil {
		t.Fatal(err)
	}
	// One attempt: the SDK's backoff between retries only slows the test.
	c = dynamodb.New(c.Options(), func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = dynamostore.New(c, "s3ocr-nowhere", nil).Upload(ctx, "u1")
	var coded *ocr.Error
	if err == nil || errors.As(err, &coded) || ocr.Permanent(err) {
		t.Fatalf("Upload from an unreachable server = %v; want a plain error the caller retries", err)
	}
}
