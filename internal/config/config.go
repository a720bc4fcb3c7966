// Package config loads each function's settings from the environment, the
// same variable names template.yaml sets. AWS endpoints, region and
// credentials are not here: the SDK reads its own standard variables.
package config

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Common settings every function reads.
type Common struct {
	TableName    string // TABLE_NAME, required
	BucketName   string // BUCKET_NAME, required
	UploadPrefix string // UPLOAD_PREFIX, default "uploads/": the only prefix that triggers processing
	ResultPrefix string // RESULT_PREFIX, default "results/": large results; must not overlap UploadPrefix
	LogLevel     string // LOG_LEVEL, default "info"
	// LOG_HASH_KEY, default "": the key of the hash logs carry instead of
	// an upload id (logid.Hash); the template sets the stack's id. Empty
	// still hashes, so no id is logged either way: a hash cannot be turned
	// back into its id, key or no key, and the key only keeps hashes from
	// matching across deployments.
	LogHashKey string
}

// Auth is the deployment's JWT authorizer, as the template gives it to the
// functions: AUTH_ISSUER and AUTH_AUDIENCE, both set or both empty (an
// open API).
type Auth struct {
	Issuer   string
	Audience string
}

// On reports whether the API checks tokens.
func (a Auth) On() bool { return a.Issuer != "" }

// Quotas are the per-caller daily limits (QUOTA_UPLOADS_PER_DAY,
// QUOTA_BYTES_PER_DAY, QUOTA_PAGES_PER_DAY), each 0 or unset for none.
type Quotas struct {
	Uploads int64
	Bytes   int64
	Pages   int64
}

// Upload configures the upload function.
type Upload struct {
	Common
	Languages     []string      // OCR_LANGUAGES, default "eng": the languages the process function has installed
	MaxBytes      int64         // MAX_UPLOAD_BYTES, default 500 MiB
	PresignExpiry time.Duration // PRESIGN_EXPIRY, default 10m
	UploadTTL     time.Duration // UPLOAD_TTL, default 24h
	Auth          Auth
	Quotas        Quotas // uploads and bytes are counted here
}

// Process configures the process function.
type Process struct {
	Common
	TessdataPrefix string        // TESSDATA_PREFIX, default "/opt/share/tessdata" (the layer's)
	MaxBytes       int64         // MAX_UPLOAD_BYTES, default 500 MiB
	MaxPixels      int64         // MAX_PIXELS, default 60,000,000 per page
	MaxPages       int           // MAX_PAGES, default 3,000 per document
	ResultTTL      time.Duration // from RESULT_TTL: a result record's lifetime, ResultTTLDays less one day
	ClaimLease     time.Duration // CLAIM_LEASE, default 30s: renewed while OCR runs; a dead worker's claim lapses after it
	InlineResult   int           // INLINE_RESULT_BYTES, default 300,000: larger results go to S3 (items max 400 KB)
	PageBudget     time.Duration // PAGE_BUDGET, default 10s: with less time left before the deadline, stop with "timeout"
	EventBusName   string        // EVENT_BUS_NAME, default "": when set, completions are published to this EventBridge bus
	// ENGINES, default "auto" (0 here): how many Tesseract engines read a
	// document's pages at once, each on its own vCPU with ~100 MB of model
	// and page; auto is one per vCPU the function has (tesseract.CPUs).
	Engines int
	// RESULT_TTL, default 30: the template's ResultTTLDays, a whole number
	// of days. The bucket expires a result's object that many days after
	// it was written (the lifecycle of results/), and its record expires a
	// day sooner (ResultTTL), so a record never points at an object the
	// lifecycle has taken.
	ResultTTLDays int
	// KEEP_UPLOADS, default false: false deletes an uploaded file once its
	// upload is finished (done, or failed for good).
	KeepUploads bool
	// SHARE_RESULTS, default "owner": results are reused only between one
	// owner's uploads; "all" reuses them across owners.
	ShareAcrossOwners bool
	Quotas            Quotas // pages are counted here
	// FAN_OUT_PAGES, default 20: a document with more pages is read in
	// ranges, each by an invocation of its own; "off" never.
	FanOutPages int
	// RANGE_PAGES, default 10: pages per range (more for a document that
	// would otherwise have over service.MaxRanges ranges).
	RangePages int
	// RANGES_IN_FLIGHT, default 4: ranges of one document read at once;
	// "all" for every one.
	RangesInFlight int
	// AWS_LAMBDA_FUNCTION_NAME, set by Lambda (and the local runtime): the
	// function a fanned-out document's ranges are queued to, itself. Empty
	// outside Lambda, where documents are read whole.
	FunctionName string
}

// FanOutHold is how long a fanned-out document's claim is held while its
// ranges are read: Lambda keeps a queued event up to 6 hours
// (MaximumEventAgeInSeconds), and an invocation runs up to 15 minutes.
const FanOutHold = 6*time.Hour + 15*time.Minute

// Status configures the status function.
type Status struct {
	Common
	// For GET /info, the same settings the upload and process functions use.
	Languages     []string      // OCR_LANGUAGES
	MaxBytes      int64         // MAX_UPLOAD_BYTES
	MaxPixels     int64         // MAX_PIXELS
	MaxPages      int           // MAX_PAGES
	PresignExpiry time.Duration // PRESIGN_EXPIRY
	KeepUploads   bool          // KEEP_UPLOADS, default false: false means uploaded files are deleted once read, so no searchable PDF can be made
	StuckAfter    time.Duration // STUCK_AFTER, default 7h (past the event age limit, 6h, plus a timeout): an upload processing longer is reported failed ("timeout")
	// RESPONSE_PREFIX, default "responses/": answers too large for a Lambda
	// response (6 MB) are written here and the client is sent to them; the
	// bucket expires them after a day.
	ResponsePrefix string
	Auth           Auth   // GET /info checks its optional token itself
	Quotas         Quotas // shown by GET /info
	// PAGE_API_ORIGINS, default none: API origins, besides its own, that
	// the browser page served at / may be pointed at (?api=, Settings);
	// each scheme://host[:port], https or http on localhost.
	PageAPIOrigins []string
}

// The variable names, in one place for the template test and the local stack.
const (
	EnvTable          = "TABLE_NAME"
	EnvBucket         = "BUCKET_NAME"
	EnvUploadPrefix   = "UPLOAD_PREFIX"
	EnvResultPrefix   = "RESULT_PREFIX"
	EnvResponsePrefix = "RESPONSE_PREFIX"
	EnvLogLevel       = "LOG_LEVEL"
	EnvLogHashKey     = "LOG_HASH_KEY"
	EnvKeepUploads    = "KEEP_UPLOADS"
	EnvLanguages      = "OCR_LANGUAGES"
	EnvMaxBytes       = "MAX_UPLOAD_BYTES"
	EnvPresignExpiry  = "PRESIGN_EXPIRY"
	EnvUploadTTL      = "UPLOAD_TTL"
	EnvTessdata       = "TESSDATA_PREFIX"
	EnvMaxPixels      = "MAX_PIXELS"
	EnvMaxPages       = "MAX_PAGES"
	EnvResultTTL      = "RESULT_TTL"
	EnvClaimLease     = "CLAIM_LEASE"
	EnvInlineResult   = "INLINE_RESULT_BYTES"
	EnvPageBudget     = "PAGE_BUDGET"
	EnvStuckAfter     = "STUCK_AFTER"
	EnvEventBus       = "EVENT_BUS_NAME"
	EnvEngines        = "ENGINES"
	EnvFanOutPages    = "FAN_OUT_PAGES"
	EnvRangePages     = "RANGE_PAGES"
	EnvRangesInFlight = "RANGES_IN_FLIGHT"
	EnvFunctionName   = "AWS_LAMBDA_FUNCTION_NAME"
	EnvAuthIssuer     = "AUTH_ISSUER"
	EnvAuthAudience   = "AUTH_AUDIENCE"
	EnvShareResults   = "SHARE_RESULTS"
	EnvQuotaUploads   = "QUOTA_UPLOADS_PER_DAY"
	EnvQuotaBytes     = "QUOTA_BYTES_PER_DAY"
	EnvQuotaPages     = "QUOTA_PAGES_PER_DAY"
	EnvPageAPIOrigins = "PAGE_API_ORIGINS"
	// EnvLambdaMemory is set by Lambda itself (a reserved name the
	// template cannot set): the function's memory in MB, which fixes its
	// vCPUs.
	EnvLambdaMemory = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
)

// Getenv is how settings are looked up; os.Getenv in production.
type Getenv func(string) string

// reader collects the first error, so a function reports every bad setting
// by name at start instead of failing later on first use.
type reader struct {
	get  Getenv
	errs []string
}

func (r *reader) str(name, def string) string {
	if v := strings.TrimSpace(r.get(name)); v != "" {
		return v
	}
	return def
}

func (r *reader) required(name string) string {
	v := strings.TrimSpace(r.get(name))
	if v == "" {
		r.errs = append(r.errs, name+" is required")
	}
	return v
}

func (r *reader) int64(name string, def int64) int64 {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		r.errs = append(r.errs, fmt.Sprintf("%s=%q is not a positive whole number", name, v))
		return def
	}
	return n
}

func (r *reader) duration(name string, def time.Duration) time.Duration {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.errs = append(r.errs, fmt.Sprintf("%s=%q is not a positive duration like 10m or 720h", name, v))
		return def
	}
	return d
}

func (r *reader) list(name, def string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(r.str(name, def), func(r rune) bool { return r == ',' || r == '+' || r == ' ' }) {
		out = append(out, f)
	}
	return out
}

// boolean reads "true" or "false", nothing else: a typo must not turn a
// setting off.
func (r *reader) boolean(name string, def bool) bool {
	switch v := r.str(name, ""); v {
	case "":
		return def
	case "true":
		return true
	case "false":
		return false
	default:
		r.errs = append(r.errs, fmt.Sprintf("%s=%q is not true or false", name, v))
		return def
	}
}

// The bounds of RESULT_TTL, the template's ResultTTLDays MinValue and
// MaxValue: the record lives a day less than the object, and at least a
// day; ten years is far past any use and far inside a time.Duration.
const (
	MinResultTTLDays = 2
	MaxResultTTLDays = 3650
)

// resultTTL reads RESULT_TTL: a whole number of days (the template's
// ResultTTLDays), digits only, within MinResultTTLDays and MaxResultTTLDays.
func (r *reader) resultTTL(def int) (days int, record time.Duration) {
	days = def
	if v := r.str(EnvResultTTL, ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < MinResultTTLDays || strings.TrimLeft(v, "0123456789") != "" || n > MaxResultTTLDays {
			r.errs = append(r.errs, fmt.Sprintf("%s=%q is not a whole number of days from %d to %d (the template's ResultTTLDays)", EnvResultTTL, v, MinResultTTLDays, MaxResultTTLDays))
		} else {
			days = n
		}
	}
	return days, time.Duration(days-1) * 24 * time.Hour
}

// engines reads ENGINES: "auto" (0) or a positive number.
func (r *reader) engines() int {
	if v := r.str(EnvEngines, "auto"); v == "auto" {
		return 0
	}
	return int(r.int64(EnvEngines, 0))
}

// limit reads a quota: a whole number, 0 or unset for no limit.
func (r *reader) limit(name string) int64 {
	v := r.str(name, "0")
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		r.errs = append(r.errs, fmt.Sprintf("%s=%q is not a whole number of 0 (no limit) or more", name, v))
		return 0
	}
	return n
}

// auth reads AUTH_ISSUER and AUTH_AUDIENCE.
func (r *reader) auth() Auth {
	a := Auth{Issuer: r.str(EnvAuthIssuer, ""), Audience: r.str(EnvAuthAudience, "")}
	switch {
	case (a.Issuer == "") != (a.Audience == ""):
		r.errs = append(r.errs, fmt.Sprintf("%s and %s must be set together (issuer %q, audience %q)", EnvAuthIssuer, EnvAuthAudience, a.Issuer, a.Audience))
	case a.Issuer != "" && !strings.HasPrefix(a.Issuer, "https://") && !strings.HasPrefix(a.Issuer, "http://"):
		r.errs = append(r.errs, fmt.Sprintf("%s=%q is not an issuer URL", EnvAuthIssuer, a.Issuer))
	}
	return a
}

// shareResults reads SHARE_RESULTS: owner (false) or all (true).
func (r *reader) shareResults() bool {
	switch v := r.str(EnvShareResults, "owner"); v {
	case "owner":
		return false
	case "all":
		return true
	default:
		r.errs = append(r.errs, fmt.Sprintf("%s=%q is not owner or all", EnvShareResults, v))
		return false
	}
}

// origins reads a comma-separated list of web origins, as a browser
// writes them (scheme://host[:port], no path): https, or http for a server
// on this machine. A page's Content-Security-Policy and its own check
// compare them as written, so anything else is refused, not tidied.
func (r *reader) origins(name string) []string {
	var out []string
	for _, v := range strings.Split(r.str(name, ""), ",") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		u, err := url.Parse(v)
		local := err == nil && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1")
		switch {
		case err != nil || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(v, "?") || strings.HasSuffix(v, "#"):
			r.errs = append(r.errs, fmt.Sprintf("%s: %q is not an origin like https://api.example.com (scheme, host and port only, no path)", name, v))
		case u.Scheme != "https" && !(u.Scheme == "http" && local):
			r.errs = append(r.errs, fmt.Sprintf("%s: %q is not https (http only for localhost and 127.0.0.1)", name, v))
		case v != u.Scheme+"://"+strings.ToLower(u.Host):
			r.errs = append(r.errs, fmt.Sprintf("%s: %q is not written as a browser writes an origin (lower case)", name, v))
		default:
			out = append(out, v)
		}
	}
	return out
}

func (r *reader) err() error {
	if len(r.errs) == 0 {
		return nil
	}
	return fmt.Errorf("configuration: %s", strings.Join(r.errs, "; "))
}

func (r *reader) common() Common {
	c := Common{
		TableName:    r.required(EnvTable),
		BucketName:   r.required(EnvBucket),
		UploadPrefix: r.str(EnvUploadPrefix, "uploads/"),
		ResultPrefix: r.str(EnvResultPrefix, "results/"),
		LogLevel:     r.str(EnvLogLevel, "info"),
		LogHashKey:   strings.TrimSpace(r.get(EnvLogHashKey)),
	}
	if strings.HasPrefix(c.ResultPrefix, c.UploadPrefix) || strings.HasPrefix(c.UploadPrefix, c.ResultPrefix) {
		r.errs = append(r.errs, fmt.Sprintf("%s=%q and %s=%q overlap: stored results would trigger processing", EnvUploadPrefix, c.UploadPrefix, EnvResultPrefix, c.ResultPrefix))
	}
	return c
}

// Defaults shared by more than one function.
const (
	DefaultMaxBytes      = 500 << 20        // upload size limit, 500 MiB
	DefaultMaxPixels     = 60_000_000       // per page, checked from the header
	DefaultMaxPages      = 3000             // per document
	DefaultPresignExpiry = 10 * time.Minute // how long a presigned POST works
)

// LoadUpload reads the upload function's settings.
func LoadUpload(get Getenv) (Upload, error) {
	r := &reader{get: get}
	c := Upload{
		Common:        r.common(),
		Languages:     r.list(EnvLanguages, "eng"),
		MaxBytes:      r.int64(EnvMaxBytes, DefaultMaxBytes),
		PresignExpiry: r.duration(EnvPresignExpiry, DefaultPresignExpiry),
		UploadTTL:     r.duration(EnvUploadTTL, 24*time.Hour),
		Auth:          r.auth(),
		Quotas:        Quotas{Uploads: r.limit(EnvQuotaUploads), Bytes: r.limit(EnvQuotaBytes)},
	}
	return c, r.err()
}

// LoadProcess reads the process function's settings.
func LoadProcess(get Getenv) (Process, error) {
	r := &reader{get: get}
	c := Process{
		Common:         r.common(),
		TessdataPrefix: r.str(EnvTessdata, "/opt/share/tessdata"),
		MaxBytes:       r.int64(EnvMaxBytes, DefaultMaxBytes),
		MaxPixels:      r.int64(EnvMaxPixels, DefaultMaxPixels),
		MaxPages:       int(r.int64(EnvMaxPages, DefaultMaxPages)),
		KeepUploads:    r.boolean(EnvKeepUploads, false),
		ClaimLease:     r.duration(EnvClaimLease, 30*time.Second),
		InlineResult:   int(r.int64(EnvInlineResult, 300_000)),
		PageBudget:     r.duration(EnvPageBudget, 10*time.Second),
		EventBusName:   r.str(EnvEventBus, ""),
		Engines:        r.engines(),
		RangePages:     int(r.int64(EnvRangePages, 10)),
		FunctionName:   r.str(EnvFunctionName, ""),
	}
	if v := r.str(EnvFanOutPages, ""); v != "off" {
		c.FanOutPages = int(r.int64(EnvFanOutPages, 20))
	}
	if v := r.str(EnvRangesInFlight, ""); v != "all" {
		c.RangesInFlight = int(r.int64(EnvRangesInFlight, 4))
	}
	c.ShareAcrossOwners = r.shareResults()
	c.Quotas.Pages = r.limit(EnvQuotaPages)
	c.ResultTTLDays, c.ResultTTL = r.resultTTL(30)
	return c, r.err()
}

// LoadStatus reads the status function's settings.
func LoadStatus(get Getenv) (Status, error) {
	r := &reader{get: get}
	c := Status{
		Common:         r.common(),
		Languages:      r.list(EnvLanguages, "eng"),
		MaxBytes:       r.int64(EnvMaxBytes, DefaultMaxBytes),
		MaxPixels:      r.int64(EnvMaxPixels, DefaultMaxPixels),
		MaxPages:       int(r.int64(EnvMaxPages, DefaultMaxPages)),
		PresignExpiry:  r.duration(EnvPresignExpiry, DefaultPresignExpiry),
		KeepUploads:    r.boolean(EnvKeepUploads, false),
		StuckAfter:     r.duration(EnvStuckAfter, 7*time.Hour),
		ResponsePrefix: r.str(EnvResponsePrefix, "responses/"),
		Auth:           r.auth(),
		Quotas:         Quotas{Uploads: r.limit(EnvQuotaUploads), Bytes: r.limit(EnvQuotaBytes), Pages: r.limit(EnvQuotaPages)},
	}
	c.PageAPIOrigins = r.origins(EnvPageAPIOrigins)
	if c.ResponsePrefix == "" || strings.HasPrefix(c.ResponsePrefix, c.UploadPrefix) || strings.HasPrefix(c.UploadPrefix, c.ResponsePrefix) {
		r.errs = append(r.errs, fmt.Sprintf("%s=%q must be set apart from %s=%q: stored answers would trigger processing", EnvResponsePrefix, c.ResponsePrefix, EnvUploadPrefix, c.UploadPrefix))
	}
	return c, r.err()
}

// FromOS reads the process environment.
var FromOS Getenv = os.Getenv
