package inmem_test

import (
	"testing"

	"github.com/s3ocr/s3ocr/internal/inmem"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/ocr/storetest"
)

func TestStore_ExpireResult(t *testing.T) {
	storetest.RunExpire(t, func(t *testing.T, c *storetest.Clock) ocr.Store { return inmem.NewStore(c.Now) })
}
