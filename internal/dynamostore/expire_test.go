package dynamostore_test

import (
	"testing"

	"github.com/s3ocr/s3ocr/internal/dynamostore"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/ocr/storetest"
)

func TestStore_ExpireResult(t *testing.T) {
	dynamo(t)
	storetest.RunExpire(t, func(t *testing.T, c *storetest.Clock) ocr.Store {
		return dynamostore.New(client, newTable(t), c.Now)
	})
}
