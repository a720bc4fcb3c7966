package dynamostore

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

var _ ocr.ProgressCounter = (*Store)(nil)

// AddPagesDone implements ocr.ProgressCounter with one UpdateItem: SET
// with arithmetic, since ADD takes only top-level attributes, and progress
// is a map. A failed condition (not processing, no progress) is no error.
func (s *Store) AddPagesDone(ctx context.Context, uploadID string, n int) error {
	_, err := s.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.table,
		Key:                      key(uploadPrefix + uploadID),
		UpdateExpression:         aws.String("SET progress.pagesDone = progress.pagesDone + :n"),
		ConditionExpression:      aws.String(condExists + " AND #status = :processing AND attribute_exists(progress.pagesDone)"),
		ExpressionAttributeNames: map[string]string{"#status": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":n": num(int64(n)), ":processing": str(string(ocr.StatusProcessing)),
		},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("dynamodb: count pages done of upload %s: %w", uploadID, err)
	}
	return nil
}
