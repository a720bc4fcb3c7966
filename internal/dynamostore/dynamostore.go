// Package dynamostore keeps uploads and shared results in one DynamoDB
// table (ocr.Store). Every claim and state change is one conditional write:
// DynamoDB has no cross-item transactions here (dynalite, the local server,
// does not implement them), and none are needed, because each rule concerns
// one item.
package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// The table's layout, which template.yaml declares too.
const (
	// PartitionKey is the table's only key attribute (a string).
	PartitionKey = "pk"
	// TTLAttribute holds each item's expiry in epoch seconds, the attribute
	// the table's TimeToLiveSpecification names.
	TTLAttribute = "expiresAt"
)

const (
	uploadPrefix = "upload#"
	resultPrefix = "result#"
)

// Store is an ocr.Store on DynamoDB.
type Store struct {
	c     *dynamodb.Client
	table string
	now   func() time.Time
}

var _ ocr.Store = (*Store)(nil)

// New returns a store on table, reading the time from now (time.Now if nil).
func New(c *dynamodb.Client, table string, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{c: c, table: table, now: now}
}

// uploadItem is an upload as stored. Nested domain types keep their JSON
// names (the codec uses the json tag key), so the console shows the same
// names as the API.
type uploadItem struct {
	PK              string        `json:"pk"`
	Kind            string        `json:"kind"`
	ID              string        `json:"id"`
	Status          ocr.Status    `json:"status"`
	Filename        string        `json:"filename,omitempty"`
	ContentType     string        `json:"contentType"`
	Size            int64         `json:"size"`
	Languages       []string      `json:"languages"`
	CreatedAt       time.Time     `json:"createdAt"`
	UpdatedAt       time.Time     `json:"updatedAt,omitempty"`
	ExpiresAt       int64         `json:"expiresAt"`
	Document        *ocr.Document `json:"document,omitempty"`
	ResultKey       string        `json:"resultKey,omitempty"`
	Cached          bool          `json:"cached,omitempty"`
	ProcessingSince time.Time     `json:"processingSince,omitempty"`
	Error           *ocr.Error    `json:"error,omitempty"`
}

// resultItem is a shared result as stored. The inline Result is a nested
// map, readable in the console; results over the processor's inline limit
// are in S3 and only ObjectKey is here. Waiters, a string set, is written
// only by AddWaiter.
type resultItem struct {
	PK         string          `json:"pk"`
	Kind       string          `json:"kind"`
	Key        string          `json:"key"`
	State      ocr.ResultState `json:"state"`
	Owner      string          `json:"owner,omitempty"`
	LeaseUntil int64           `json:"leaseUntil,omitempty"` // epoch ms, compared in conditions
	Document   ocr.Document    `json:"document"`
	Result     *ocr.Result     `json:"result,omitempty"`
	ObjectKey  string          `json:"objectKey,omitempty"`
	Error      *ocr.Error      `json:"error,omitempty"`
	CreatedAt  time.Time       `json:"createdAt"`
	UpdatedAt  time.Time       `json:"updatedAt,omitempty"`
	ExpiresAt  int64           `json:"expiresAt"`
}

func encOpts(o *attributevalue.EncoderOptions) { o.TagKey, o.OmitEmptyTime = "json", true }
func decOpts(o *attributevalue.DecoderOptions) { o.TagKey = "json" }

func marshalMap(v any) (map[string]types.AttributeValue, error) {
	return attributevalue.MarshalMapWithOptions(v, encOpts)
}

func marshal(v any) (types.AttributeValue, error) {
	return attributevalue.MarshalWithOptions(v, encOpts)
}

// epochCeil rounds up, so an item never expires before its time.
func epochCeil(t time.Time) int64 {
	return int64(math.Ceil(float64(t.UnixNano()) / 1e9))
}

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func key(pk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{PartitionKey: str(pk)}
}

func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// CreateUpload implements ocr.Store.
func (s *Store) CreateUpload(ctx context.Context, u *ocr.Upload) error {
	item, err := marshalMap(uploadItem{
		PK: uploadPrefix + u.ID, Kind: "upload", ID: u.ID, Status: u.Status, Filename: u.Filename,
		ContentType: u.ContentType, Size: u.Size, Languages: u.Languages, CreatedAt: u.CreatedAt.UTC(),
		UpdatedAt: u.UpdatedAt.UTC(), ExpiresAt: epochCeil(u.ExpiresAt),
	})
	if err != nil {
		return fmt.Errorf("encode upload: %w", err)
	}
	_, err = s.c.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 &s.table,
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR expiresAt <= :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(s.now().Unix())},
	})
	if conditionFailed(err) {
		return fmt.Errorf("upload %s exists", u.ID)
	}
	if err != nil {
		return fmt.Errorf("put upload %s: %w", u.ID, err)
	}
	return nil
}

// get reads an item consistently (claims and status must see the latest
// write), treating an expired one as absent.
func (s *Store) get(ctx context.Context, pk string, v any) (bool, error) {
	out, err := s.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key(pk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return false, fmt.Errorf("get %s: %w", pk, err)
	}
	return s.decodeLive(out.Item, v)
}

func (s *Store) decodeLive(item map[string]types.AttributeValue, v any) (bool, error) {
	if item == nil {
		return false, nil
	}
	// DynamoDB deletes expired items lazily, days late: they must read as absent.
	if exp, ok := item[TTLAttribute].(*types.AttributeValueMemberN); ok {
		if n, err := strconv.ParseInt(exp.Value, 10, 64); err == nil && n <= s.now().Unix() {
			return false, nil
		}
	}
	if err := attributevalue.UnmarshalMapWithOptions(item, v, decOpts); err != nil {
		return false, fmt.Errorf("decode item: %w", err)
	}
	return true, nil
}

// Upload implements ocr.Store.
func (s *Store) Upload(ctx context.Context, id string) (*ocr.Upload, error) {
	var it uploadItem
	ok, err := s.get(ctx, uploadPrefix+id, &it)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ocr.Errorf(ocr.ENOTFOUND, "no upload %q", id)
	}
	return &ocr.Upload{
		ID: it.ID, Status: it.Status, Filename: it.Filename, ContentType: it.ContentType, Size: it.Size,
		Languages: it.Languages, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt,
		ExpiresAt: time.Unix(it.ExpiresAt, 0).UTC(), Document: it.Document, ResultKey: it.ResultKey,
		Cached: it.Cached, ProcessingSince: it.ProcessingSince, Error: it.Error,
	}, nil
}

// TransitionUpload implements ocr.Store.
func (s *Store) TransitionUpload(ctx context.Context, id string, from []ocr.Status, ch ocr.UploadChange) (bool, error) {
	names := map[string]string{"#status": "status"}
	values := map[string]types.AttributeValue{":to": str(string(ch.Status)), ":now": num(s.now().Unix())}
	sets := []string{"#status = :to"}
	set := func(attr string, v any) error {
		av, err := marshal(v)
		if err != nil {
			return fmt.Errorf("encode %s: %w", attr, err)
		}
		names["#"+attr], values[":"+attr] = attr, av
		sets = append(sets, "#"+attr+" = :"+attr)
		return nil
	}
	var errs []error
	if !ch.UpdatedAt.IsZero() {
		errs = append(errs, set("updatedAt", ch.UpdatedAt.UTC()))
	}
	if ch.Document != nil {
		errs = append(errs, set("document", ch.Document))
	}
	if ch.ResultKey != "" {
		errs = append(errs, set("resultKey", ch.ResultKey))
	}
	if ch.Cached {
		errs = append(errs, set("cached", true))
	}
	if !ch.ProcessingSince.IsZero() {
		errs = append(errs, set("processingSince", ch.ProcessingSince.UTC()))
	}
	if ch.Error != nil {
		errs = append(errs, set("error", &ocr.Error{Code: ch.Error.Code, Message: ch.Error.Message}))
	}
	if err := errors.Join(errs...); err != nil {
		return false, err
	}
	var in []string
	for i, st := range from {
		k := ":from" + strconv.Itoa(i)
		values[k] = str(string(st))
		in = append(in, k)
	}
	if len(in) == 0 {
		return false, nil
	}
	_, err := s.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(uploadPrefix + id),
		UpdateExpression:          aws.String("SET " + strings.Join(sets, ", ")),
		ConditionExpression:       aws.String("attribute_exists(pk) AND expiresAt > :now AND #status IN (" + strings.Join(in, ", ") + ")"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("update upload %s: %w", id, err)
	}
	return true, nil
}

func (it *resultItem) record() *ocr.ResultRecord {
	r := &ocr.ResultRecord{
		Key: it.Key, State: it.State, Owner: it.Owner, Document: it.Document, Result: it.Result,
		ObjectKey: it.ObjectKey, Error: it.Error, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt,
		ExpiresAt: time.Unix(it.ExpiresAt, 0).UTC(),
	}
	if it.LeaseUntil != 0 {
		r.LeaseUntil = time.UnixMilli(it.LeaseUntil).UTC()
	}
	return r
}

func newResultItem(rec *ocr.ResultRecord) resultItem {
	it := resultItem{
		PK: resultPrefix + rec.Key, Kind: "result", Key: rec.Key, State: rec.State, Owner: rec.Owner,
		Document: rec.Document, Result: rec.Result, ObjectKey: rec.ObjectKey, CreatedAt: rec.CreatedAt.UTC(),
		UpdatedAt: rec.UpdatedAt.UTC(), ExpiresAt: epochCeil(rec.ExpiresAt),
	}
	if rec.Error != nil {
		it.Error = &ocr.Error{Code: rec.Error.Code, Message: rec.Error.Message}
	}
	if !rec.LeaseUntil.IsZero() {
		it.LeaseUntil = rec.LeaseUntil.UnixMilli()
	}
	return it
}

// Result implements ocr.Store.
func (s *Store) Result(ctx context.Context, k string) (*ocr.ResultRecord, error) {
	var it resultItem
	ok, err := s.get(ctx, resultPrefix+k, &it)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ocr.Errorf(ocr.ENOTFOUND, "no result %q", k)
	}
	return it.record(), nil
}

// claimAttempts bounds ClaimResult's loop when the record it lost to
// disappears (released or expired) before it can be read.
const claimAttempts = 3

// ClaimResult implements ocr.Store.
func (s *Store) ClaimResult(ctx context.Context, rec *ocr.ResultRecord, now time.Time) (bool, *ocr.ResultRecord, error) {
	item, err := marshalMap(newResultItem(rec))
	if err != nil {
		return false, nil, fmt.Errorf("encode claim: %w", err)
	}
	for range claimAttempts {
		_, err = s.c.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: &s.table,
			Item:      item,
			// Free, expired, or processing under a lease that has ended.
			ConditionExpression:      aws.String("attribute_not_exists(pk) OR expiresAt <= :nowSec OR (#state = :processing AND leaseUntil < :nowMs)"),
			ExpressionAttributeNames: map[string]string{"#state": "state"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":nowSec": num(now.Unix()), ":nowMs": num(now.UnixMilli()), ":processing": str(string(ocr.ResultProcessing)),
			},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		if err == nil {
			return true, nil, nil
		}
		if !conditionFailed(err) {
			return false, nil, fmt.Errorf("claim result %s: %w", rec.Key, err)
		}
		var it resultItem
		ok := false
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) && ccf.Item != nil {
			ok, err = s.decodeLive(ccf.Item, &it)
		} else {
			// dynalite does not return the item with the failure: read it.
			ok, err = s.get(ctx, resultPrefix+rec.Key, &it)
		}
		if err != nil {
			return false, nil, err
		}
		if ok {
			return false, it.record(), nil
		}
	}
	return false, nil, fmt.Errorf("claim result %s: lost to a record that keeps disappearing", rec.Key)
}

// AddWaiter implements ocr.Store.
func (s *Store) AddWaiter(ctx context.Context, k, uploadID string) (bool, error) {
	_, err := s.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.table,
		Key:                      key(resultPrefix + k),
		UpdateExpression:         aws.String("ADD waiters :w"),
		ConditionExpression:      aws.String("attribute_exists(pk) AND #state = :processing AND expiresAt > :now"),
		ExpressionAttributeNames: map[string]string{"#state": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":w": &types.AttributeValueMemberSS{Value: []string{uploadID}}, ":processing": str(string(ocr.ResultProcessing)),
			":now": num(s.now().Unix()),
		},
	})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("add waiter to %s: %w", k, err)
	}
	return true, nil
}

// CompleteResult implements ocr.Store.
func (s *Store) CompleteResult(ctx context.Context, rec *ocr.ResultRecord) ([]string, error) {
	item, err := marshalMap(newResultItem(rec))
	if err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	out, err := s.c.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                &s.table,
		Item:                     item,
		ConditionExpression:      aws.String("#state = :processing AND #owner = :owner"),
		ExpressionAttributeNames: map[string]string{"#state": "state", "#owner": "owner"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":processing": str(string(ocr.ResultProcessing)), ":owner": str(rec.Owner),
		},
		// The replaced item's waiters, read atomically with the write.
		ReturnValues: types.ReturnValueAllOld,
	})
	if conditionFailed(err) {
		return nil, ocr.Errorf(ocr.ENOTFOUND, "claim on %q lost", rec.Key)
	}
	if tooLarge(err) {
		return nil, ocr.ErrItemTooLarge
	}
	if err != nil {
		return nil, fmt.Errorf("complete result %s: %w", rec.Key, err)
	}
	if ss, ok := out.Attributes["waiters"].(*types.AttributeValueMemberSS); ok {
		return ss.Value, nil
	}
	return nil, nil
}

// tooLarge reports DynamoDB's refusal of an item over 400 KB, a
// ValidationException told apart only by its message.
func tooLarge(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "ValidationException" &&
		strings.Contains(strings.ToLower(api.ErrorMessage()), "item size")
}

// ReleaseClaim implements ocr.Store.
func (s *Store) ReleaseClaim(ctx context.Context, k, owner string) error {
	_, err := s.c.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                &s.table,
		Key:                      key(resultPrefix + k),
		ConditionExpression:      aws.String("#state = :processing AND #owner = :owner"),
		ExpressionAttributeNames: map[string]string{"#state": "state", "#owner": "owner"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":processing": str(string(ocr.ResultProcessing)), ":owner": str(owner),
		},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("release claim on %s: %w", k, err)
	}
	return nil
}

// ExtendResult implements ocr.Store.
func (s *Store) ExtendResult(ctx context.Context, k string, until time.Time) error {
	_, err := s.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           &s.table,
		Key:                 key(resultPrefix + k),
		UpdateExpression:    aws.String("SET expiresAt = :until"),
		ConditionExpression: aws.String("attribute_exists(pk) AND expiresAt > :now AND expiresAt < :until"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":until": num(epochCeil(until)), ":now": num(s.now().Unix()),
		},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("extend result %s: %w", k, err)
	}
	return nil
}
