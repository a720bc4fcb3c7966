package dynamostore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

var _ ocr.Quotas = (*Store)(nil)

const quotaPrefix = "quota#"

// quotaKeep is how long a day's counters outlive the day: a day and a
// margin for clocks, then TTL takes them.
const quotaKeep = 2 * 24 * time.Hour

// quotaItem is one subject's counters for one UTC day.
type quotaItem struct {
	Uploads int64 `dynamodbav:"uploads"`
	Bytes   int64 `dynamodbav:"bytes"`
	Pages   int64 `dynamodbav:"pages"`
}

func quotaPK(subject string, day time.Time) string {
	return quotaPrefix + subject + "#" + ocr.QuotaDay(day).Format(time.DateOnly)
}

// Spend implements ocr.Quotas with one UpdateItem: ADD each counter, on
// condition that each counter with a limit stays within it. DynamoDB
// applies the check and the additions atomically, so concurrent requests
// of one caller cannot together pass a limit.
func (s *Store) Spend(ctx context.Context, subject string, day time.Time, use, limits ocr.Usage) (bool, error) {
	if !(ocr.Usage{}).Within(use, limits) {
		return false, nil // over a limit on its own
	}
	values := map[string]types.AttributeValue{":exp": num(ocr.QuotaDay(day).Add(quotaKeep).Unix())}
	var adds, conds []string
	for _, c := range []struct {
		attr       string
		use, limit int64
	}{{"uploads", use.Uploads, limits.Uploads}, {"bytes", use.Bytes, limits.Bytes}, {"pages", use.Pages, limits.Pages}} {
		if c.use == 0 {
			continue
		}
		adds = append(adds, c.attr+" :"+c.attr)
		values[":"+c.attr] = num(c.use)
		if c.limit > 0 && c.use > 0 {
			// Within the limit after the addition: at most limit-use now.
			conds = append(conds, fmt.Sprintf("(attribute_not_exists(%s) OR %s <= :max_%s)", c.attr, c.attr, c.attr))
			values[":max_"+c.attr] = num(c.limit - c.use)
		}
	}
	if len(adds) == 0 {
		return true, nil
	}
	in := &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(quotaPK(subject, day)),
		UpdateExpression:          aws.String("SET " + TTLAttribute + " = :exp ADD " + strings.Join(adds, ", ")),
		ExpressionAttributeValues: values,
	}
	if len(conds) > 0 {
		in.ConditionExpression = aws.String(strings.Join(conds, " AND "))
	}
	_, err := s.c.UpdateItem(ctx, in)
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dynamodb: spend quota: %w", err)
	}
	return true, nil
}

// Used implements ocr.Quotas.
func (s *Store) Used(ctx context.Context, subject string, day time.Time) (ocr.Usage, error) {
	var it quotaItem
	if _, err := s.get(ctx, quotaPK(subject, day), &it); err != nil {
		return ocr.Usage{}, err
	}
	return ocr.Usage{Uploads: it.Uploads, Bytes: it.Bytes, Pages: it.Pages}, nil
}

// CountPagesOnce implements ocr.Quotas: a conditional UpdateItem sets the
// upload's pagesCounted once.
func (s *Store) CountPagesOnce(ctx context.Context, uploadID string) (bool, error) {
	_, err := s.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(uploadPrefix + uploadID),
		UpdateExpression:          aws.String("SET pagesCounted = :t"),
		ConditionExpression:       aws.String(condExists + " AND attribute_not_exists(pagesCounted)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}},
	})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dynamodb: count pages of upload %s: %w", uploadID, err)
	}
	return true, nil
}
