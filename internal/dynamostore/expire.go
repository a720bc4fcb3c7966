package dynamostore

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// ExpireResult implements resultstore.Expirer with an UpdateItem that sets
// the record's expiry to now, conditioned on a live done record that keeps
// its result in objectKey; a failed condition means there is no such record
// (expired, claimed anew, or erased) and nothing to do. From then on reads
// treat the record as absent and ClaimResult may replace it, as they do
// with any expired item, before DynamoDB's TTL deletes it.
func (s *Store) ExpireResult(ctx context.Context, k, objectKey string) error {
	values := map[string]types.AttributeValue{":now": num(s.now().Unix()), ":done": str(string(ocr.ResultDone))}
	// A paged result kept inline has no object: its pages are what went.
	object := "attribute_not_exists(objectKey)"
	if objectKey != "" {
		object, values[":object"] = "objectKey = :object", str(objectKey)
	}
	_, err := s.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(resultPrefix + k),
		UpdateExpression:          aws.String("SET expiresAt = :now"),
		ConditionExpression:       aws.String(condExists + " AND " + condLive + " AND #state = :done AND " + object),
		ExpressionAttributeNames:  map[string]string{"#state": "state"},
		ExpressionAttributeValues: values,
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("dynamodb: expire result %s: %w", k, err)
	}
	return nil
}
