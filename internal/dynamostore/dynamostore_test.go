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

var client *dynamodb.Client

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	dir, _ := os.MkdirTemp("", "dynamostore-test-")
	d, err := localstack.StartDynalite(ctx, localstack.DynaliteOptions{Dir: dir})
	if err == nil {
		client, err = localstack.NewDynamoClient(ctx, d.Endpoint)
	}
	cancel()
	if err != nil {
		if errors.Is(err, localstack.ErrToolMissing) && os.Getenv("S3OCR_REQUIRE_TOOLS") != "1" {
			fmt.Println("dynamostore: skipped:", err)
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "dynamostore: dynalite:", err)
		os.Exit(1)
	}
	code := m.Run()
	d.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

var tables atomic.Int64

// newTable creates a fresh table, so each contract test starts empty.
func newTable(t *testing.T) string {
	t.Helper()
	name := "s3ocr-test-" + strconv.FormatInt(tables.Add(1), 10)
	if err := dynamostore.CreateTable(context.Background(), client, name); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, c *storetest.Clock) ocr.Store {
		return dynamostore.New(client, newTable(t), c.Now)
	})
}

func TestCreateTable_IsIdempotentAndOnDemand(t *testing.T) {
	ctx := context.Background()
	name := newTable(t)
	if err := dynamostore.CreateTable(ctx, client, name); err != nil {
		t.Fatalf("second CreateTable: %v", err)
	}
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &name})
	if err != nil {
		t.Fatal(err)
	}
	tbl := out.Table
	if tbl.TableStatus != types.TableStatusActive || len(tbl.KeySchema) != 1 || *tbl.KeySchema[0].AttributeName != dynamostore.PartitionKey {
		t.Fatalf("table = %+v", tbl)
	}
	if tbl.BillingModeSummary == nil || tbl.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Fatalf("billing mode = %+v", tbl.BillingModeSummary)
	}
}

func TestItems_ExpiryIsEpochSecondsUnderTheTTLAttribute(t *testing.T) {
	ctx := context.Background()
	name := newTable(t)
	s := dynamostore.New(client, name, nil)
	exp := time.Now().Add(time.Hour).Truncate(time.Second).Add(300 * time.Millisecond)
	if err := s.CreateUpload(ctx, &ocr.Upload{ID: "u1", Status: ocr.StatusPending, ContentType: "image/png", CreatedAt: time.Now(), ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &name, Key: map[string]types.AttributeValue{
		dynamostore.PartitionKey: &types.AttributeValueMemberS{Value: "upload#u1"},
	}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	n, ok := out.Item[dynamostore.TTLAttribute].(*types.AttributeValueMemberN)
	if !ok {
		t.Fatalf("%s is %T, want a Number", dynamostore.TTLAttribute, out.Item[dynamostore.TTLAttribute])
	}
	// Rounded up, so an item never expires before its time.
	if want := strconv.FormatInt(exp.Unix()+1, 10); n.Value != want {
		t.Fatalf("%s = %s, want %s (epoch seconds)", dynamostore.TTLAttribute, n.Value, want)
	}
}
