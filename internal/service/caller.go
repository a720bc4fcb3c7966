package service

import (
	"context"
	"fmt"
	"time"

	"github.com/s3ocr/s3ocr/internal/logid"
	"github.com/s3ocr/s3ocr/internal/ocr"
)

// Caller is who makes a request, as the API learned it.
type Caller struct {
	// Sub is the subject of the token API Gateway's JWT authorizer
	// checked; empty when the API is open (no AuthIssuer).
	Sub string
	// IP is the client's address (API Gateway's sourceIp): what callers
	// are told apart by, for quotas, when the API is open.
	IP string
}

type callerKey struct{}

// WithCaller returns ctx carrying the caller of the request it serves.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller ctx carries; the zero Caller (anonymous)
// when none.
func CallerFrom(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

// Quota is a deployment's per-caller daily limits, counted in Counters.
// The zero value, or Limits all 0, counts nothing.
type Quota struct {
	Counters ocr.Quotas
	Limits   ocr.Usage // per caller and UTC day; 0 is no limit
	// HashKey keys the hash an IP address is kept as: quota counters name
	// an open API's callers without storing their addresses.
	HashKey string
}

// On reports whether any limit is set.
func (q *Quota) On() bool { return q != nil && q.Counters != nil && q.Limits != (ocr.Usage{}) }

// Subject names the caller's counters: their token's subject, or with the
// API open a keyed hash of their address. Empty when quotas are off or
// the caller cannot be told apart.
func (q *Quota) Subject(c Caller) string {
	switch {
	case !q.On():
		return ""
	case c.Sub != "":
		return "sub:" + c.Sub
	case c.IP != "":
		return "ip:" + logid.Hash(q.HashKey, c.IP)
	}
	return ""
}

// QuotaExceeded is an ocr.Error with code EQUOTA that says when the quota
// resets, for the API's Retry-After.
type QuotaExceeded struct {
	Err     *ocr.Error
	ResetAt time.Time
}

func (e *QuotaExceeded) Error() string { return e.Err.Error() }
func (e *QuotaExceeded) Unwrap() error { return e.Err }

// exceeded says which of the limits spending use on top of used would
// pass, as a QuotaExceeded.
func (q *Quota) exceeded(used, use ocr.Usage, now time.Time) *QuotaExceeded {
	reset := ocr.QuotaReset(now)
	var what string
	switch {
	case q.Limits.Uploads > 0 && used.Uploads+use.Uploads > q.Limits.Uploads:
		what = fmt.Sprintf("%d uploads a day; %d were made today", q.Limits.Uploads, used.Uploads)
	case q.Limits.Bytes > 0 && used.Bytes+use.Bytes > q.Limits.Bytes:
		what = fmt.Sprintf("%d bytes a day; %d were used today and this file has %d", q.Limits.Bytes, used.Bytes, use.Bytes)
	case q.Limits.Pages > 0 && used.Pages+use.Pages > q.Limits.Pages:
		what = fmt.Sprintf("%d pages a day; %d were read today and this document has %d", q.Limits.Pages, used.Pages, use.Pages)
	default:
		what = "its daily limits"
	}
	return &QuotaExceeded{ResetAt: reset, Err: ocr.Errorf(ocr.EQUOTA,
		"over the quota of %s; it resets at %s", what, reset.Format(time.RFC3339))}
}

// spend counts use against the caller's quota, or says which limit it
// would pass.
func (q *Quota) spend(ctx context.Context, subject string, use ocr.Usage, now time.Time) error {
	if subject == "" {
		return nil
	}
	ok, err := q.Counters.Spend(ctx, subject, now, use, q.Limits)
	if err != nil {
		return fmt.Errorf("quota: %w", err)
	}
	if ok {
		return nil
	}
	used, err := q.Counters.Used(ctx, subject, now)
	if err != nil {
		used = ocr.Usage{} // the message is vaguer, the refusal the same
	}
	return q.exceeded(used, use, now)
}

// QuotaInfo is what GET /info tells a caller of their quota today.
type QuotaInfo struct {
	Limits    ocr.Usage `json:"limits"`    // per UTC day; 0 is no limit
	Used      ocr.Usage `json:"used"`      // today
	Remaining ocr.Usage `json:"remaining"` // today; for a limit of 0, -1 (none)
	ResetsAt  time.Time `json:"resetsAt"`
}

// Info returns the caller's quota today, or nil when quotas are off.
func (q *Quota) Info(ctx context.Context, c Caller, now time.Time) (*QuotaInfo, error) {
	subject := q.Subject(c)
	if subject == "" {
		return nil, nil
	}
	used, err := q.Counters.Used(ctx, subject, now)
	if err != nil {
		return nil, fmt.Errorf("quota: %w", err)
	}
	left := func(limit, used int64) int64 {
		if limit == 0 {
			return -1
		}
		return max(limit-used, 0)
	}
	return &QuotaInfo{Limits: q.Limits, Used: used, ResetsAt: ocr.QuotaReset(now), Remaining: ocr.Usage{
		Uploads: left(q.Limits.Uploads, used.Uploads), Bytes: left(q.Limits.Bytes, used.Bytes), Pages: left(q.Limits.Pages, used.Pages),
	}}, nil
}
