package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// expirer is resultstore.Expirer, named here so that this package needs
// only ocr.
type expirer interface {
	ExpireResult(ctx context.Context, key, objectKey string) error
}

// RunExpire holds a store to resultstore.Expirer: a done record whose
// result is kept in the named object expires at once, and reads and claims
// then treat it as any expired record; any other record is left alone.
func RunExpire(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	c := &Clock{}
	c.Set(t0)
	s := newStore(t, c)
	e, ok := s.(expirer)
	if !ok {
		t.Fatalf("%T has no ExpireResult", s)
	}
	claim := func(key, owner string) (bool, *ocr.ResultRecord) {
		t.Helper()
		now := c.Now()
		won, cur, err := s.ClaimResult(ctx, &ocr.ResultRecord{Key: key, State: ocr.ResultProcessing, Owner: owner,
			LeaseUntil: now.Add(time.Minute), CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}, now)
		if err != nil {
			t.Fatal(err)
		}
		return won, cur
	}
	if won, _ := claim("big", "u1#a"); !won {
		t.Fatal("first claim lost")
	}
	if _, err := s.CompleteResult(ctx, &ocr.ResultRecord{Key: "big", State: ocr.ResultDone, Owner: "u1#a", ObjectKey: "results/big.json",
		CreatedAt: c.Now(), UpdatedAt: c.Now(), ExpiresAt: c.Now().Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if won, _ := claim("busy", "u2#a"); !won {
		t.Fatal("claim of busy lost")
	}

	// Another object, or a record still processing: nothing happens.
	for _, tc := range [][2]string{{"big", "results/other.json"}, {"busy", ""}, {"missing", "results/missing.json"}} {
		if err := e.ExpireResult(ctx, tc[0], tc[1]); err != nil {
			t.Fatalf("ExpireResult(%q, %q): %v", tc[0], tc[1], err)
		}
	}
	for _, key := range []string{"big", "busy"} {
		if _, err := s.Result(ctx, key); err != nil {
			t.Fatalf("%s after an ExpireResult that did not match it: %v", key, err)
		}
	}

	if err := e.ExpireResult(ctx, "big", "results/big.json"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Result(ctx, "big"); !ocr.NotFound(err) {
		t.Fatalf("Result after ExpireResult: %v, want not found", err)
	}
	if won, cur := claim("big", "u3#a"); !won {
		t.Fatalf("claim after ExpireResult lost to %+v", cur)
	}
}
