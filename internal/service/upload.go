// Package service holds the s3ocr rules, written against the small interfaces
// of package ocr so that they run the same under Lambda, in the local stack
// and in unit tests with in-memory fakes:
//
//   - Uploads.Create checks what a client wants to send and presigns it;
//   - Processor.Process reads an uploaded object into a shared result;
//   - Status.Get reports an upload's state and result.
package service

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"log/slog"
	"mime"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// ContentTypes are the types a client may declare, as the bytes will be
// sniffed to be.
var ContentTypes = []string{"image/png", "image/jpeg", "image/tiff", "image/webp", "image/bmp", "image/gif", "application/pdf"}

// MaxLanguages bounds how many languages one upload may ask for: each one
// loads a model and slows recognition.
const MaxLanguages = 5

// MaxFilenameBytes bounds the (display-only) filename a client may send.
const MaxFilenameBytes = 255

// CreateUploadRequest is what a client wants to send.
type CreateUploadRequest struct {
	Filename    string   `json:"filename"`
	ContentType string   `json:"contentType"`
	Size        int64    `json:"size"`
	Languages   []string `json:"languages"`
}

// CreatedUpload tells the client where and how to send the file.
type CreatedUpload struct {
	UploadID  string             `json:"uploadId"`
	Upload    *ocr.PresignedPost `json:"upload"`
	ExpiresAt time.Time          `json:"expiresAt"` // the presigned POST stops working then
	StatusURL string             `json:"statusUrl"`
}

// Uploads creates uploads.
type Uploads struct {
	Store     ocr.Store
	Presigner ocr.Presigner
	Log       *slog.Logger

	Languages     []string      // installed language codes; requests are checked against them
	MaxBytes      int64         // largest file accepted
	PresignExpiry time.Duration // how long a presigned POST works
	UploadTTL     time.Duration // how long an upload record lives
	UploadPrefix  string        // object key prefix for uploads; keys are prefix + upload id
	Now           func() time.Time
	// Quota counts each caller's uploads and declared bytes per day, and
	// refuses past its limits; nil counts nothing.
	Quota *Quota
}

// Create validates req, records a pending upload of the context's caller
// (WithCaller) and returns a presigned POST for it. Validation failures are
// *ocr.Error values naming the problem; a caller over their quota gets a
// *QuotaExceeded.
func (s *Uploads) Create(ctx context.Context, req CreateUploadRequest) (*CreatedUpload, error) {
	filename, err := SanitizeFilename(req.Filename)
	if err != nil {
		return nil, err
	}
	contentType, err := normalizeContentType(req.ContentType)
	if err != nil {
		return nil, err
	}
	if req.Size == 0 {
		return nil, ocr.Errorf(ocr.EEMPTY, "the file is empty: there is nothing to read")
	}
	if req.Size < 0 {
		return nil, ocr.Errorf(ocr.EINVALID, "size must be the file's size in bytes, a positive number (got %d)", req.Size)
	}
	if req.Size > s.MaxBytes {
		return nil, ocr.Errorf(ocr.ETOOLARGE, "the file is %d bytes; the limit is %d bytes", req.Size, s.MaxBytes)
	}
	langs, err := ValidateLanguages(req.Languages, s.Languages)
	if err != nil {
		return nil, err
	}
	id, err := NewUploadID()
	if err != nil {
		return nil, err
	}
	now := s.Now().UTC()
	caller := CallerFrom(ctx)
	u := &ocr.Upload{
		ID: id, Status: ocr.StatusPending, Filename: filename, ContentType: contentType,
		Size: req.Size, Languages: langs, CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(s.UploadTTL),
		Owner: caller.Sub, Quota: s.Quota.Subject(caller),
	}
	expires := now.Add(s.PresignExpiry).Truncate(time.Second)
	u.UploadBy = expires
	post, err := s.Presigner.PresignPost(ctx, s.UploadPrefix+id, contentType, req.Size, expires)
	if err != nil {
		return nil, fmt.Errorf("presign upload %s: %w", id, err)
	}
	// Counted before the upload is recorded: one atomic write per request,
	// so a caller's parallel requests cannot pass the limit together.
	use := ocr.Usage{Uploads: 1, Bytes: req.Size}
	if err := s.Quota.spend(ctx, u.Quota, use, now); err != nil {
		return nil, err
	}
	if err := s.Store.CreateUpload(ctx, u); err != nil {
		if u.Quota != "" {
			// Give back what this request counted (best effort: at worst
			// the caller loses one upload of their day).
			if _, rerr := s.Quota.Counters.Spend(context.WithoutCancel(ctx), u.Quota, now, ocr.Usage{Uploads: -1, Bytes: -req.Size}, ocr.Usage{}); rerr != nil {
				s.Log.WarnContext(ctx, "could not give back a failed upload's quota", "err", rerr)
			}
		}
		return nil, fmt.Errorf("record upload %s: %w", id, err)
	}
	s.Log.InfoContext(ctx, "upload created", "uploadId", id, "contentType", contentType, "size", req.Size, "languages", langs)
	return &CreatedUpload{UploadID: id, Upload: post, ExpiresAt: expires, StatusURL: "/uploads/" + id}, nil
}

// uploadIDEncoding is lower-case RFC 4648 base32 without padding: URL- and
// key-safe, case-insensitive-looking, no ambiguity with the hex of hashes.
var uploadIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// uploadIDBytes is 160 random bits, over the 128 that make ids unguessable.
const uploadIDBytes = 20

var uploadIDPattern = regexp.MustCompile(`^[a-z2-7]{32}$`)

// NewUploadID returns a new random upload id.
func NewUploadID() (string, error) {
	b := make([]byte, uploadIDBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random upload id: %w", err)
	}
	return uploadIDEncoding.EncodeToString(b), nil
}

// ValidUploadID reports whether id has the form NewUploadID gives.
func ValidUploadID(id string) bool { return uploadIDPattern.MatchString(id) }

// SanitizeFilename returns the base name of a client's filename, fit to show
// and to store. The name is never used in object keys, but it is shown back
// to people, so path parts are dropped and control characters refused.
func SanitizeFilename(name string) (string, error) {
	if len(name) > MaxFilenameBytes {
		return "", ocr.Errorf(ocr.EFILENAME, "filename is %d bytes; the limit is %d", len(name), MaxFilenameBytes)
	}
	if !utf8.ValidString(name) {
		return "", ocr.Errorf(ocr.EFILENAME, "filename is not valid UTF-8")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return "", ocr.Errorf(ocr.EFILENAME, "filename contains a control character (%U)", r)
		}
	}
	// Browsers send a base name, but some clients send a path, with either
	// separator: keep only the last element.
	base := path.Base(strings.ReplaceAll(name, `\`, "/"))
	base = strings.TrimSpace(base)
	if base == "." || base == ".." || base == "/" {
		base = ""
	}
	if base == "" {
		return "", ocr.Errorf(ocr.EFILENAME, "filename %q has no file name in it", name)
	}
	return base, nil
}

func normalizeContentType(ct string) (string, error) {
	if ct == "" {
		return "", ocr.Errorf(ocr.EINVALID, "contentType is required, one of %s", strings.Join(ContentTypes, ", "))
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", ocr.Errorf(ocr.EINVALID, "contentType %q is not a media type", ct)
	}
	if mt == "image/jpg" { // common misspelling
		mt = "image/jpeg"
	}
	if !slices.Contains(ContentTypes, mt) {
		return "", ocr.Errorf(ocr.EUNSUPPORTED, "contentType %q is not supported; use one of %s", mt, strings.Join(ContentTypes, ", "))
	}
	return mt, nil
}

var languagePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{1,31}$`)

// ValidateLanguages checks requested language codes against the installed
// ones, dropping duplicates but keeping order (the first is Tesseract's
// primary language). None requested means "eng". "auto" alone asks for
// each page's languages to be chosen from its script; it is not mixed with
// codes, which would leave unclear which of them to read with.
func ValidateLanguages(requested, installed []string) ([]string, error) {
	if len(requested) == 0 {
		requested = []string{"eng"}
	}
	if slices.Contains(requested, ocr.AutoLanguage) {
		if slices.ContainsFunc(requested, func(l string) bool { return l != ocr.AutoLanguage }) {
			return nil, ocr.Errorf(ocr.ELANGUAGE, "%q chooses the languages itself and cannot be mixed with language codes", ocr.AutoLanguage)
		}
		return []string{ocr.AutoLanguage}, nil
	}
	var out []string
	for _, l := range requested {
		if !languagePattern.MatchString(l) {
			return nil, ocr.Errorf(ocr.ELANGUAGE, "%q is not a Tesseract language code (like \"eng\" or \"chi_sim\")", l)
		}
		if l == "osd" || !slices.Contains(installed, l) {
			return nil, ocr.Errorf(ocr.ELANGUAGE, "language %q is not installed; installed: %s", l, strings.Join(installed, ", "))
		}
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	if len(out) > MaxLanguages {
		return nil, ocr.Errorf(ocr.ELANGUAGE, "%d languages asked for; the limit is %d", len(out), MaxLanguages)
	}
	return out, nil
}

// IsAutoLanguages reports whether langs ask for automatic languages.
func IsAutoLanguages(langs []string) bool {
	return len(langs) == 1 && langs[0] == ocr.AutoLanguage
}

// InfoLanguages is what GET /info lists: the installed codes, then "auto".
func InfoLanguages(installed []string) []string {
	return append(slices.Clone(installed), ocr.AutoLanguage)
}
