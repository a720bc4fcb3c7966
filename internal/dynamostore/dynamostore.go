// Package dynamostore keeps uploads and shared results in one DynamoDB table
// (ocr.Store). Every claim and state change is one conditional write on one
// item: no rule spans two items, so no transactions are needed (dynalite, the
// local server, does not implement them).
//
// Item layout, one string partition key (PartitionKey) and no sort key:
//
//	pk = "upload#<id>"   an ocr.Upload
//	pk = "quota#<subject>#<yyyy-mm-dd>"  a caller's counters for one UTC day
//	                     (ocr.Quotas): uploads, bytes and pages
//	pk = "result#<key>"  an ocr.ResultRecord, plus "waiters" (string set)
//	                     while it is processing, "refs" (string set) of the
//	                     uploads that read it, and "pinned" once too many
//	                     do to count
//
// Only AddResultRef and RemoveResultRef write refs and pinned; every other
// write of a result item leaves them as they are (or, taking over a lapsed
// claim, carries them over), so erasure's DeleteResult, conditioned on no
// refs, can never delete a result an upload still counts on.
//
// Every item carries its expiry in TTLAttribute (epoch seconds) and every
// read treats an item at or past it as absent.
package dynamostore

import (
	"context"
	"errors"
	"fmt"
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

// The table's layout. template.yaml declares the same names.
const (
	// PartitionKey is the table's only key attribute, a string.
	PartitionKey = "pk"

	// TTLAttribute holds each item's expiry as a Number of epoch seconds,
	// the attribute the table's TimeToLiveSpecification names. An item
	// without it never expires.
	TTLAttribute = "expiresAt"
)

const (
	uploadPrefix = "upload#"
	resultPrefix = "result#"
)

// Condition fragments. The attribute names are those of the dynamodbav tags
// below; the tests check the stored names against PartitionKey and
// TTLAttribute. expiresAt is compared with :now in epoch seconds; an item
// without expiresAt is live (a comparison with a missing attribute is false).
const (
	condExists  = "attribute_exists(pk)"
	condAbsent  = "attribute_not_exists(pk)"
	condLive    = "(attribute_not_exists(expiresAt) OR expiresAt > :now)"
	condExpired = "expiresAt <= :now"
)

// Store is an ocr.Store on one DynamoDB table laid out as the package
// comment describes. It is safe for concurrent use.
type Store struct {
	c     *dynamodb.Client
	table string
	now   func() time.Time
}

var _ ocr.Store = (*Store)(nil)

// New returns a store on the named table (see CreateTable), reading the time
// for expiry from now (time.Now if nil).
func New(c *dynamodb.Client, table string, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{c: c, table: table, now: now}
}

// uploadItem is an ocr.Upload as stored.
type uploadItem struct {
	PK              string        `dynamodbav:"pk"`
	Kind            string        `dynamodbav:"kind"` // "upload", for people reading the table
	ID              string        `dynamodbav:"id"`
	Status          ocr.Status    `dynamodbav:"status"`
	Filename        string        `dynamodbav:"filename,omitempty"`
	ContentType     string        `dynamodbav:"contentType,omitempty"`
	Size            int64         `dynamodbav:"size"`
	Languages       []string      `dynamodbav:"languages,omitempty"`
	CreatedAt       time.Time     `dynamodbav:"createdAt,omitempty"`
	UpdatedAt       time.Time     `dynamodbav:"updatedAt,omitempty"`
	ExpiresAt       int64         `dynamodbav:"expiresAt,omitempty"` // epoch seconds; 0: never
	Document        *ocr.Document `dynamodbav:"document,omitempty"`
	ResultKey       string        `dynamodbav:"resultKey,omitempty"`
	Cached          bool          `dynamodbav:"cached,omitempty"`
	ProcessingSince time.Time     `dynamodbav:"processingSince,omitempty"`
	UploadBy        time.Time     `dynamodbav:"uploadBy,omitempty"`
	Progress        *ocr.Progress `dynamodbav:"progress,omitempty"`
	Error           *ocr.Error    `dynamodbav:"error,omitempty"`
	Owner           string        `dynamodbav:"owner,omitempty"`
	Quota           string        `dynamodbav:"quota,omitempty"`
	PagesCounted    bool          `dynamodbav:"pagesCounted,omitempty"` // CountPagesOnce
}

// resultItem is an ocr.ResultRecord as stored. The inline Result is a nested
// map, readable in the console; the processor puts results that would make
// the item exceed DynamoDB's 400 KB in S3 and stores only ObjectKey here.
type resultItem struct {
	PK         string          `dynamodbav:"pk"`
	Kind       string          `dynamodbav:"kind"` // "result"
	Key        string          `dynamodbav:"key"`
	State      ocr.ResultState `dynamodbav:"state"`
	Owner      string          `dynamodbav:"owner,omitempty"`
	LeaseUntil int64           `dynamodbav:"leaseUntil,omitempty"` // epoch milliseconds, compared in ClaimResult's condition
	Document   ocr.Document    `dynamodbav:"document"`
	Result     *ocr.Result     `dynamodbav:"result,omitempty"`
	ObjectKey  string          `dynamodbav:"objectKey,omitempty"`
	Error      *ocr.Error      `dynamodbav:"error,omitempty"`
	CreatedAt  time.Time       `dynamodbav:"createdAt,omitempty"`
	UpdatedAt  time.Time       `dynamodbav:"updatedAt,omitempty"`
	ExpiresAt  int64           `dynamodbav:"expiresAt,omitempty"` // epoch seconds; 0: never
	Waiters    []string        `dynamodbav:"waiters,stringset,omitempty"`
	Takeovers  int             `dynamodbav:"takeovers,omitempty"`
	Refs       []string        `dynamodbav:"refs,stringset,omitempty"`
	Pinned     bool            `dynamodbav:"pinned,omitempty"`
	Released   bool            `dynamodbav:"released,omitempty"` // lease ended by ReleaseClaim, not by a death
	ReadFor    string          `dynamodbav:"readFor,omitempty"`
	Paged      bool            `dynamodbav:"paged,omitempty"`
}

// The codec reads the json tag key as well as dynamodbav, so the domain types
// nested in items (Document, Result, Error) are stored under the names the API
// shows, and ocr.Error's internal cause (json:"-") is never stored.
func encOpts(o *attributevalue.EncoderOptions) { o.TagKey, o.OmitEmptyTime = "json", true }
func decOpts(o *attributevalue.DecoderOptions) { o.TagKey = "json" }

func marshal(v any) (types.AttributeValue, error) {
	return attributevalue.MarshalWithOptions(v, encOpts)
}

func marshalMap(v any) (map[string]types.AttributeValue, error) {
	return attributevalue.MarshalMapWithOptions(v, encOpts)
}

// epochSeconds rounds up, so that an item never expires before its time;
// 0, which stores no expiry, for the zero time.
func epochSeconds(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// epochMillis rounds up, so that a lease is never taken over early.
func epochMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	ms := t.UnixMilli()
	if t.Nanosecond()%int(time.Millisecond) > 0 {
		ms++
	}
	return ms
}

func fromEpochSeconds(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

func fromEpochMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
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

// tooLarge reports DynamoDB's refusal of an item over 400 KB: a
// ValidationException told apart from others only by its message ("Item size
// has exceeded the maximum allowed size"; dynalite sends the same).
func tooLarge(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "ValidationException" &&
		strings.Contains(strings.ToLower(api.ErrorMessage()), "item size")
}

// decodeLive decodes item into v unless it is missing or expired at now:
// DynamoDB deletes expired items lazily, days late, and dynalite never does.
func decodeLive(item map[string]types.AttributeValue, v any, now time.Time) (bool, error) {
	if item == nil {
		return false, nil
	}
	if exp, ok := item[TTLAttribute].(*types.AttributeValueMemberN); ok {
		n, err := strconv.ParseInt(exp.Value, 10, 64)
		if err != nil {
			return false, fmt.Errorf("item %v: %s %q is not epoch seconds", item[PartitionKey], TTLAttribute, exp.Value)
		}
		if n <= now.Unix() {
			return false, nil
		}
	}
	if err := attributevalue.UnmarshalMapWithOptions(item, v, decOpts); err != nil {
		return false, fmt.Errorf("decode item: %w", err)
	}
	return true, nil
}

// get reads an item into v, treating an expired one as absent. The read is
// strongly consistent: a claim or a status must see the latest write, and
// DynamoDB's default eventually consistent read may not.
func (s *Store) get(ctx context.Context, pk string, v any) (bool, error) {
	out, err := s.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key(pk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return false, fmt.Errorf("dynamodb: get %s: %w", pk, err)
	}
	return decodeLive(out.Item, v, s.now())
}

// CreateUpload implements ocr.Store. An expired upload with the same id is
// replaced, as if TTL had already deleted it.
func (s *Store) CreateUpload(ctx context.Context, u *ocr.Upload) error {
	item, err := marshalMap(uploadItem{
		PK: uploadPrefix + u.ID, Kind: "upload", ID: u.ID, Status: u.Status, Filename: u.Filename,
		ContentType: u.ContentType, Size: u.Size, Languages: u.Languages, CreatedAt: u.CreatedAt.UTC(), UploadBy: u.UploadBy.UTC(),
		UpdatedAt: u.UpdatedAt.UTC(), ExpiresAt: epochSeconds(u.ExpiresAt), Owner: u.Owner, Quota: u.Quota,
	})
	if err != nil {
		return fmt.Errorf("encode upload %s: %w", u.ID, err)
	}
	_, err = s.c.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 &s.table,
		Item:                      item,
		ConditionExpression:       aws.String(condAbsent + " OR " + condExpired),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(s.now().Unix())},
	})
	if conditionFailed(err) {
		return ocr.Errorf(ocr.EINTERNAL, "upload %s exists", u.ID)
	}
	if err != nil {
		return fmt.Errorf("dynamodb: put upload %s: %w", u.ID, err)
	}
	return nil
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
	return it.upload(), nil
}

func (it *uploadItem) upload() *ocr.Upload {
	return &ocr.Upload{
		ID: it.ID, Status: it.Status, Filename: it.Filename, ContentType: it.ContentType, Size: it.Size,
		Languages: it.Languages, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt,
		ExpiresAt: fromEpochSeconds(it.ExpiresAt), Document: it.Document, ResultKey: it.ResultKey,
		Cached: it.Cached, ProcessingSince: it.ProcessingSince, Progress: it.Progress, Error: it.Error,
		UploadBy: it.UploadBy, Owner: it.Owner, Quota: it.Quota,
	}
}

// TransitionUpload implements ocr.Store with one conditional UpdateItem that
// sets the status and the change's non-zero fields.
func (s *Store) TransitionUpload(ctx context.Context, id string, from []ocr.Status, ch ocr.UploadChange) (bool, error) {
	if len(from) == 0 {
		return false, nil // IN () is not an expression DynamoDB accepts, and nothing can match
	}
	names := map[string]string{"#status": "status"}
	values := map[string]types.AttributeValue{":to": str(string(ch.Status)), ":now": num(s.now().Unix())}
	sets := []string{"#status = :to"}
	set := func(attr string, v any) error {
		av, err := marshal(v)
		if err != nil {
			return fmt.Errorf("encode %s of upload %s: %w", attr, id, err)
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
	if ch.Progress != nil {
		errs = append(errs, set("progress", ch.Progress))
	}
	if ch.Error != nil {
		errs = append(errs, set("error", &ocr.Error{Code: ch.Error.Code, Message: ch.Error.Message}))
	}
	if err := errors.Join(errs...); err != nil {
		return false, err
	}
	in := make([]string, len(from))
	for i, st := range from {
		in[i] = ":from" + strconv.Itoa(i)
		values[in[i]] = str(string(st))
	}
	_, err := s.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(uploadPrefix + id),
		UpdateExpression:          aws.String("SET " + strings.Join(sets, ", ")),
		ConditionExpression:       aws.String(condExists + " AND " + condLive + " AND #status IN (" + strings.Join(in, ", ") + ")"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dynamodb: update upload %s: %w", id, err)
	}
	return true, nil
}

func newResultItem(rec *ocr.ResultRecord) resultItem {
	it := resultItem{
		PK: resultPrefix + rec.Key, Kind: "result", Key: rec.Key, State: rec.State, Owner: rec.Owner,
		LeaseUntil: epochMillis(rec.LeaseUntil), Document: rec.Document, Result: rec.Result,
		ObjectKey: rec.ObjectKey, CreatedAt: rec.CreatedAt.UTC(), UpdatedAt: rec.UpdatedAt.UTC(),
		ExpiresAt: epochSeconds(rec.ExpiresAt), Takeovers: rec.Takeovers, ReadFor: rec.ReadFor, Paged: rec.Paged,
	}
	if rec.Error != nil {
		it.Error = &ocr.Error{Code: rec.Error.Code, Message: rec.Error.Message}
	}
	return it
}

func (it *resultItem) record() *ocr.ResultRecord {
	return &ocr.ResultRecord{
		Key: it.Key, State: it.State, Owner: it.Owner, LeaseUntil: fromEpochMillis(it.LeaseUntil),
		Document: it.Document, Result: it.Result, ObjectKey: it.ObjectKey, Error: it.Error,
		CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt, ExpiresAt: fromEpochSeconds(it.ExpiresAt),
		Takeovers: it.Takeovers, ReadFor: it.ReadFor, Paged: it.Paged,
	}
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

// claimAttempts bounds ClaimResult's loop for the case where the record it
// lost to is released, expires or loses its lease before it can be read.
const claimAttempts = 5

// ClaimResult implements ocr.Store with one conditional PutItem. Expiry is
// judged by the store's clock, the lease by now, as in inmem.
func (s *Store) ClaimResult(ctx context.Context, rec *ocr.ResultRecord, now time.Time) (bool, *ocr.ResultRecord, error) {
	item, err := marshalMap(newResultItem(rec))
	if err != nil {
		return false, nil, fmt.Errorf("encode claim on %s: %w", rec.Key, err)
	}
	for range claimAttempts {
		at := s.now()
		var out *dynamodb.PutItemOutput
		out, err = s.c.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: &s.table,
			Item:      item,
			// Free, expired, or processing under a lease that has ended.
			ConditionExpression:      aws.String(condAbsent + " OR " + condExpired + " OR (#state = :processing AND leaseUntil < :leaseNow)"),
			ExpressionAttributeNames: map[string]string{"#state": "state"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":now": num(at.Unix()), ":leaseNow": num(now.UnixMilli()), ":processing": str(string(ocr.ResultProcessing)),
			},
			// DynamoDB returns the item that failed the condition, read
			// atomically with the check. dynalite ignores this parameter.
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
			// The record replaced, if any: a lapsed claim's waiters and
			// takeovers are carried over below.
			ReturnValues: types.ReturnValueAllOld,
		})
		if err == nil {
			return true, nil, s.carryOver(ctx, rec, out.Attributes, at)
		}
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			return false, nil, fmt.Errorf("dynamodb: claim result %s: %w", rec.Key, err)
		}
		var cur resultItem
		var ok bool
		if ccf.Item != nil {
			ok, err = decodeLive(ccf.Item, &cur, at)
		} else {
			// dynalite: read the holder now. It may have changed since the
			// check, hence the loop.
			ok, err = s.get(ctx, resultPrefix+rec.Key, &cur)
		}
		if err != nil {
			return false, nil, err
		}
		// Decided as the condition decides, in whole milliseconds.
		if ok && !(cur.State == ocr.ResultProcessing && cur.LeaseUntil < now.UnixMilli()) {
			return false, cur.record(), nil
		}
	}
	return false, nil, fmt.Errorf("dynamodb: claim result %s: the record it lost to changed %d times in a row", rec.Key, claimAttempts)
}

// carryOver keeps what a claim just taken over from a lapsed one must not
// lose: the uploads that waited on it (their completion is this claim's to
// give now), the uploads that reference it, and the count of workers that
// died holding it. The put cannot do it, as it learns the old record only
// by replacing it; the update adds to what waiters and refs may have been
// added since, so none is lost either way. Until it lands the record is
// processing, which erasure never deletes; a ref removed in between comes
// back, which only keeps the result until its expiry.
func (s *Store) carryOver(ctx context.Context, rec *ocr.ResultRecord, old map[string]types.AttributeValue, at time.Time) error {
	if len(old) == 0 {
		return nil
	}
	var prev resultItem
	if ok, err := decodeLive(old, &prev, at); err != nil || !ok || prev.State != ocr.ResultProcessing {
		return err // replaced an expired or finished record: nothing to carry
	}
	rec.Takeovers = prev.Takeovers
	if !prev.Released {
		rec.Takeovers++
	}
	update := "SET takeovers = :n"
	values := map[string]types.AttributeValue{":n": num(int64(rec.Takeovers)), ":owner": str(rec.Owner)}
	if prev.Pinned {
		update += ", pinned = :pinned"
		values[":pinned"] = &types.AttributeValueMemberBOOL{Value: true}
	}
	var adds []string
	if len(prev.Waiters) > 0 {
		adds = append(adds, "waiters :w")
		values[":w"] = &types.AttributeValueMemberSS{Value: prev.Waiters}
	}
	if len(prev.Refs) > 0 {
		adds = append(adds, "refs :r")
		values[":r"] = &types.AttributeValueMemberSS{Value: prev.Refs}
	}
	if len(adds) > 0 {
		update += " ADD " + strings.Join(adds, ", ")
	}
	_, err := s.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(resultPrefix + rec.Key),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("#owner = :owner"),
		ExpressionAttributeNames:  map[string]string{"#owner": "owner"},
		ExpressionAttributeValues: values,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil // taken over again already: the next holder carries on
	}
	if err != nil {
		return fmt.Errorf("dynamodb: carry over claim %s: %w", rec.Key, err)
	}
	return nil
}

// AddWaiter implements ocr.Store: ADD to a string set is idempotent, and the
// condition keeps a waiter from being added after CompleteResult read the set.
func (s *Store) AddWaiter(ctx context.Context, k, uploadID string) (bool, error) {
	_, err := s.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.table,
		Key:                      key(resultPrefix + k),
		UpdateExpression:         aws.String("ADD waiters :w"),
		ConditionExpression:      aws.String(condExists + " AND #state = :processing AND " + condLive),
		ExpressionAttributeNames: map[string]string{"#state": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":w":          &types.AttributeValueMemberSS{Value: []string{uploadID}},
			":processing": str(string(ocr.ResultProcessing)),
			":now":        num(s.now().Unix()),
		},
	})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dynamodb: add waiter to %s: %w", k, err)
	}
	return true, nil
}

// resultAttributes are the attributes a result item's record is made of,
// which CompleteResult sets or removes; refs and pinned are not among them.
var resultAttributes = []string{
	"kind", "key", "state", "owner", "leaseUntil", "document", "result", "objectKey", "error",
	"createdAt", "updatedAt", TTLAttribute, "takeovers", "released", "readFor", "paged",
}

// CompleteResult implements ocr.Store with one conditional UpdateItem that
// sets every attribute of the record, removes those rec leaves empty, and
// removes the waiters, whose ALL_OLD return value holds them: the set is
// read and cleared in the same write that ends processing, so no waiter
// added before it is lost and none can be added after it. An update, not a
// put, so that the refs added while processing stay.
func (s *Store) CompleteResult(ctx context.Context, rec *ocr.ResultRecord) ([]string, error) {
	item, err := marshalMap(newResultItem(rec))
	if err != nil {
		return nil, fmt.Errorf("encode result %s: %w", rec.Key, err)
	}
	names := map[string]string{"#state": "state", "#owner": "owner", "#waiters": "waiters"}
	values := map[string]types.AttributeValue{
		":processing": str(string(ocr.ResultProcessing)), ":owner": str(rec.Owner),
	}
	var sets []string
	removes := []string{"#waiters"}
	for i, attr := range resultAttributes {
		n := "#a" + strconv.Itoa(i)
		names[n] = attr
		if v, ok := item[attr]; ok {
			values[":a"+strconv.Itoa(i)] = v
			sets = append(sets, n+" = :a"+strconv.Itoa(i))
		} else {
			removes = append(removes, n)
		}
	}
	out, err := s.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(resultPrefix + rec.Key),
		UpdateExpression:          aws.String("SET " + strings.Join(sets, ", ") + " REMOVE " + strings.Join(removes, ", ")),
		ConditionExpression:       aws.String("#state = :processing AND #owner = :owner"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllOld,
	})
	if conditionFailed(err) {
		return nil, ocr.Errorf(ocr.ENOTFOUND, "claim on %q lost", rec.Key)
	}
	if tooLarge(err) {
		return nil, fmt.Errorf("dynamodb: complete result %s: %w (%v)", rec.Key, ocr.ErrItemTooLarge, err)
	}
	if err != nil {
		return nil, fmt.Errorf("dynamodb: complete result %s: %w", rec.Key, err)
	}
	var old resultItem
	if err := attributevalue.UnmarshalMapWithOptions(out.Attributes, &old, decOpts); err != nil {
		// The result is stored; only the waiter list is unreadable.
		return nil, fmt.Errorf("decode replaced claim on %s: %w", rec.Key, err)
	}
	return old.Waiters, nil
}

// ReleaseClaim implements ocr.Store with an UpdateItem conditioned on the
// owner's processing claim that ends its lease and marks it released; a
// failed condition means there is nothing of the owner's to release. The
// record stays, with its waiters and refs, for the next claim to carry over.
func (s *Store) ReleaseClaim(ctx context.Context, k, owner string) error {
	_, err := s.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.table,
		Key:                      key(resultPrefix + k),
		UpdateExpression:         aws.String("SET leaseUntil = :lapsed, released = :true"),
		ConditionExpression:      aws.String("#state = :processing AND #owner = :owner"),
		ExpressionAttributeNames: map[string]string{"#state": "state", "#owner": "owner"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":processing": str(string(ocr.ResultProcessing)), ":owner": str(owner),
			":lapsed": num(0), ":true": &types.AttributeValueMemberBOOL{Value: true},
		},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("dynamodb: release claim on %s: %w", k, err)
	}
	return nil
}

// RenewClaim implements ocr.Store with an UpdateItem conditioned on the
// owner's processing claim.
func (s *Store) RenewClaim(ctx context.Context, k, owner string, until time.Time) (bool, error) {
	_, err := s.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.table,
		Key:                      key(resultPrefix + k),
		UpdateExpression:         aws.String("SET leaseUntil = :until"),
		ConditionExpression:      aws.String("#state = :processing AND #owner = :owner"),
		ExpressionAttributeNames: map[string]string{"#state": "state", "#owner": "owner"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":processing": str(string(ocr.ResultProcessing)), ":owner": str(owner), ":until": num(epochMillis(until)),
		},
	})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dynamodb: renew claim on %s: %w", k, err)
	}
	return true, nil
}

// ExtendResult implements ocr.Store with an UpdateItem conditioned on a live
// record that expires before until; a failed condition means there is nothing
// to extend. A record stored without expiry keeps none.
func (s *Store) ExtendResult(ctx context.Context, k string, until time.Time) error {
	_, err := s.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           &s.table,
		Key:                 key(resultPrefix + k),
		UpdateExpression:    aws.String("SET expiresAt = :until"),
		ConditionExpression: aws.String(condExists + " AND " + condLive + " AND expiresAt < :until"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":until": num(epochSeconds(until)), ":now": num(s.now().Unix()),
		},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("dynamodb: extend result %s: %w", k, err)
	}
	return nil
}

// DeleteUpload implements ocr.Store with a DeleteItem conditioned on a live
// upload, returning it from ALL_OLD.
func (s *Store) DeleteUpload(ctx context.Context, id string) (*ocr.Upload, error) {
	out, err := s.c.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 &s.table,
		Key:                       key(uploadPrefix + id),
		ConditionExpression:       aws.String(condExists + " AND " + condLive),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(s.now().Unix())},
		ReturnValues:              types.ReturnValueAllOld,
	})
	if conditionFailed(err) {
		return nil, ocr.Errorf(ocr.ENOTFOUND, "no upload %q", id)
	}
	if err != nil {
		return nil, fmt.Errorf("dynamodb: delete upload %s: %w", id, err)
	}
	var it uploadItem
	if err := attributevalue.UnmarshalMapWithOptions(out.Attributes, &it, decOpts); err != nil {
		return nil, fmt.Errorf("decode deleted upload %s: %w", id, err)
	}
	return it.upload(), nil
}

// AddResultRef implements ocr.Store: ADD to a string set is idempotent. The
// condition lets the set grow to ocr.MaxResultRefs; past it, or when the
// item would outgrow DynamoDB's 400 KB, the record is pinned instead.
func (s *Store) AddResultRef(ctx context.Context, k, uploadID string) (bool, error) {
	now := num(s.now().Unix())
	_, err := s.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        &s.table,
		Key:              key(resultPrefix + k),
		UpdateExpression: aws.String("ADD refs :id"),
		ConditionExpression: aws.String(condExists + " AND " + condLive + " AND attribute_not_exists(pinned) AND " +
			"(attribute_not_exists(refs) OR size(refs) < :max OR contains(refs, :uploadId))"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":id":       &types.AttributeValueMemberSS{Value: []string{uploadID}},
			":uploadId": str(uploadID),
			":max":      num(ocr.MaxResultRefs),
			":now":      now,
		},
	})
	if err == nil {
		return true, nil
	}
	if !conditionFailed(err) && !tooLarge(err) {
		return false, fmt.Errorf("dynamodb: add ref to %s: %w", k, err)
	}
	// Pinned already, full, too large for one more, or gone: pin it if it
	// is there.
	_, err = s.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(resultPrefix + k),
		UpdateExpression:          aws.String("SET pinned = :true"),
		ConditionExpression:       aws.String(condExists + " AND " + condLive),
		ExpressionAttributeValues: map[string]types.AttributeValue{":true": &types.AttributeValueMemberBOOL{Value: true}, ":now": now},
	})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dynamodb: pin result %s: %w", k, err)
	}
	return true, nil
}

// RemoveResultRef implements ocr.Store with an UpdateItem whose ALL_NEW
// return value is what is left: DynamoDB removes a set that becomes empty.
func (s *Store) RemoveResultRef(ctx context.Context, k, uploadID string) (*ocr.ResultRefs, error) {
	out, err := s.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        &s.table,
		Key:              key(resultPrefix + k),
		UpdateExpression: aws.String("DELETE refs :id"),
		// Without it the update would create an item of its key alone.
		ConditionExpression: aws.String(condExists + " AND " + condLive),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":id": &types.AttributeValueMemberSS{Value: []string{uploadID}}, ":now": num(s.now().Unix()),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if conditionFailed(err) {
		return nil, ocr.Errorf(ocr.ENOTFOUND, "no result %q", k)
	}
	if err != nil {
		return nil, fmt.Errorf("dynamodb: remove ref from %s: %w", k, err)
	}
	var it resultItem
	if err := attributevalue.UnmarshalMapWithOptions(out.Attributes, &it, decOpts); err != nil {
		return nil, fmt.Errorf("decode result %s: %w", k, err)
	}
	return &ocr.ResultRefs{Remaining: len(it.Refs), Pinned: it.Pinned, State: it.State}, nil
}

// DeleteResult implements ocr.Store with a DeleteItem conditioned on no
// refs, no pin and a finished state, so that a ref added since
// RemoveResultRef read none keeps the record.
func (s *Store) DeleteResult(ctx context.Context, k string) (*ocr.ResultRecord, error) {
	out, err := s.c.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 &s.table,
		Key:                       key(resultPrefix + k),
		ConditionExpression:       aws.String(condExists + " AND attribute_not_exists(refs) AND attribute_not_exists(pinned) AND #state <> :processing"),
		ExpressionAttributeNames:  map[string]string{"#state": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":processing": str(string(ocr.ResultProcessing))},
		ReturnValues:              types.ReturnValueAllOld,
	})
	if conditionFailed(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dynamodb: delete result %s: %w", k, err)
	}
	var it resultItem
	if err := attributevalue.UnmarshalMapWithOptions(out.Attributes, &it, decOpts); err != nil {
		return nil, fmt.Errorf("decode deleted result %s: %w", k, err)
	}
	return it.record(), nil
}
