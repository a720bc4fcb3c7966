package inmem_test

import (
	"testing"

	"github.com/s3ocr/s3ocr/internal/inmem"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/ocr/storetest"
)

func TestStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, c *storetest.Clock) ocr.Store { return inmem.NewStore(c.Now) })
}

func TestQuotasContract(t *testing.T) {
	storetest.RunQuotas(t, func(t *testing.T) (ocr.Store, ocr.Quotas) {
		s := inmem.NewStore(nil)
		return s, s
	})
}
