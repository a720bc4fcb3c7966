package ocr

import (
	"context"
	"image"
	"io"
	"time"
)

// Store keeps uploads and shared results. Every read treats an item whose
// ExpiresAt has passed as absent, because DynamoDB deletes expired items
// lazily, sometimes days late. Implementations: dynamostore (DynamoDB) and
// inmem (tests). Both must pass storetest.
type Store interface {
	// CreateUpload stores a new upload. It fails if the id exists.
	CreateUpload(ctx context.Context, u *Upload) error

	// Upload returns the upload with the id, or an *Error with code
	// ENOTFOUND when there is none or it has expired.
	Upload(ctx context.Context, id string) (*Upload, error)

	// TransitionUpload applies ch to the upload if its current status is one
	// of from. It returns false, and changes nothing, when the upload is
	// missing, expired or in another status. Fields of ch left at their zero
	// value are not changed, except Status, which is always set.
	TransitionUpload(ctx context.Context, id string, from []Status, ch UploadChange) (bool, error)

	// Result returns the result record with the key, or an *Error with code
	// ENOTFOUND when there is none or it has expired.
	Result(ctx context.Context, key string) (*ResultRecord, error)

	// ClaimResult stores rec (State processing, Owner and LeaseUntil set) if
	// no live record has its key, or the live one is processing with a lease
	// that ended before now. It returns false and the current record when
	// someone else holds it or it is already finished. Taking over a lapsed
	// claim keeps the uploads that waited on it and sets rec.Takeovers (and
	// the stored record's) to the lapsed claim's plus one.
	ClaimResult(ctx context.Context, rec *ResultRecord, now time.Time) (bool, *ResultRecord, error)

	// AddWaiter records that the upload waits for the result, if the record
	// is still processing. It returns false when the record is missing or no
	// longer processing (read it again and link to it).
	AddWaiter(ctx context.Context, key, uploadID string) (bool, error)

	// CompleteResult replaces the processing record with rec (State done or
	// failed) if rec.Owner still holds the claim, and returns the ids of the
	// uploads that were waiting. It returns an *Error with code ENOTFOUND
	// when the claim was lost. It returns ErrItemTooLarge, and stores
	// nothing, when rec does not fit in one item.
	CompleteResult(ctx context.Context, rec *ResultRecord) (waiters []string, err error)

	// RenewClaim moves the lease of owner's processing claim to until. It
	// returns false when owner no longer holds the claim. A worker renews
	// while it runs, so a short lease still covers long work, and a claim
	// whose worker died lapses soon.
	RenewClaim(ctx context.Context, key, owner string, until time.Time) (bool, error)

	// ReleaseClaim ends the lease of owner's processing claim, so that a
	// retry can claim at once instead of waiting for the lease to end. The
	// record stays: the claim that takes it over keeps its waiters and
	// refs, and does not count a released claim as a takeover.
	ReleaseClaim(ctx context.Context, key, owner string) error

	// ExtendResult moves a finished record's expiry to at least until, so a
	// result reused by a new upload lives at least as long as that upload.
	ExtendResult(ctx context.Context, key string, until time.Time) error

	// DeleteUpload deletes the upload and returns it as it was. It returns
	// an *Error with code ENOTFOUND when there is none or it has expired.
	DeleteUpload(ctx context.Context, id string) (*Upload, error)

	// AddResultRef counts the upload as one of the result's references, so
	// that erasing other uploads never deletes a result this one reads. It
	// is idempotent, and every write of the record keeps the references.
	// Past MaxResultRefs references, or when one more would not fit in the
	// item, the record is pinned instead: no longer counted, it is never
	// deleted by erasure, only by its expiry. It returns false when there
	// is no live record with the key.
	AddResultRef(ctx context.Context, key, uploadID string) (bool, error)

	// RemoveResultRef takes the upload out of the result's references (it
	// may not be among them) and returns what is left. It returns an *Error
	// with code ENOTFOUND when there is no live record with the key.
	RemoveResultRef(ctx context.Context, key, uploadID string) (*ResultRefs, error)

	// DeleteResult deletes the record if it is not processing, not pinned
	// and no upload references it, and returns it as it was. It returns
	// nil, and deletes nothing, otherwise, and when there is no record.
	DeleteResult(ctx context.Context, key string) (*ResultRecord, error)
}

// MaxResultRefs is how many uploads a result counts before it is pinned.
// A result may be up to 300 KB inline (INLINE_RESULT_BYTES); 2,000 upload
// ids of 32 bytes add about 70 KB, which still fits DynamoDB's 400 KB item.
const MaxResultRefs = 2000

// ResultRefs is what is left of a result's references after one is taken
// out, which decides whether erasure may delete it.
type ResultRefs struct {
	Remaining int         // uploads still counted
	Pinned    bool        // too many to count: only its expiry removes it
	State     ResultState // a processing result is its owner's to finish
}

// Unreferenced reports whether nothing keeps the result: no upload counts
// on it, it is not pinned, and no worker is still producing it.
func (r *ResultRefs) Unreferenced() bool {
	return r.Remaining == 0 && !r.Pinned && r.State != ResultProcessing
}

// ErrItemTooLarge is returned by Store.CompleteResult when a record does not
// fit in one store item (DynamoDB's 400 KB).
var ErrItemTooLarge = Errorf(EINTERNAL, "result too large for one item")

// UploadChange is a change of an upload's status and what comes with it.
type UploadChange struct {
	Status          Status
	UpdatedAt       time.Time
	Document        *Document
	ResultKey       string
	Cached          bool
	ProcessingSince time.Time
	Progress        *Progress
	Error           *Error
}

// Objects reads and writes objects in the bucket.
type Objects interface {
	// Open streams the object. It returns an *Error with code
	// EOBJECTNOTFOUND when there is no such object.
	Open(ctx context.Context, key string) (io.ReadCloser, error)

	// Put stores body under key.
	Put(ctx context.Context, key, contentType string, body []byte) error

	// Delete removes the object at key. A key with no object is not an
	// error, so that a repeated erasure succeeds.
	Delete(ctx context.Context, key string) error

	// Exists reports whether there is an object at key, without reading
	// it. An error means the store could not tell, not that it is absent.
	Exists(ctx context.Context, key string) (bool, error)
}

// Presigner makes browser uploads possible without credentials.
type Presigner interface {
	// PresignPost returns a POST form that lets its holder store one object
	// at key, with exactly contentType and at most maxSize bytes, until
	// expires.
	PresignPost(ctx context.Context, key, contentType string, maxSize int64, expires time.Time) (*PresignedPost, error)
}

// PresignedPost is an HTML form upload: POST multipart/form-data to URL with
// every field of Fields, and the file last in a part named "file".
type PresignedPost struct {
	URL    string            `json:"url"`
	Fields map[string]string `json:"fields"`
}

// PageSource yields a document's pages one at a time, so memory holds one
// page however many the document has.
type PageSource interface {
	// Pages is how many pages the document has.
	Pages() int
	// Page returns page i (from 0): an image to recognise, or a page read
	// already (a PDF page's text layer), never both. Problems with the
	// document are *Error values (EBADIMAGE, ETOOMANYPIXELS, …).
	Page(ctx context.Context, i int) (image.Image, *Page, error)
	// Close releases what the source holds (temporary files).
	Close() error
}

// UnknownResolution is a page image whose file does not say how many of
// its pixels make an inch: a JPEG without JFIF density (phone photos, web
// images), a PNG without pHYs (screenshots), a GIF. An engine then
// estimates the resolution from the page itself instead of assuming a
// scan's. Page sources wrap such images in it; it is only ever a page on
// its way to an Engine.
type UnknownResolution struct{ image.Image }

// Documents opens uploaded files as pages.
type Documents interface {
	// Open reads enough of data, whose type was sniffed as contentType, to
	// know its pages. Problems with the file are *Error values
	// (EUNSUPPORTED, ETOOMANYPAGES, EBADPDF, …).
	Open(ctx context.Context, data []byte, contentType string) (PageSource, error)
}

// Engine reads text from page images.
type Engine interface {
	// Recognize reads one page. It returns an *Error with code EOCRFAILED
	// when the image cannot be read and ELANGUAGE when a language is not
	// installed; other errors are the engine's own failure.
	Recognize(ctx context.Context, img image.Image, langs []string) (*Page, error)

	// Info names the engine and its version; the version is part of every
	// result key.
	Info() EngineInfo

	// Languages lists the installed language codes.
	Languages() []string
}

// PageStore keeps the pages of a document while it is being read, one at
// a time as each is finished, so that a client can have a page before the
// whole document is done. The finished result holds them all; they are
// deleted once it is stored.
type PageStore interface {
	// PutPage keeps a finished page (page.Number from 1) of the result
	// with the key.
	PutPage(ctx context.Context, key string, page *Page) error
	// Page returns page n of the result with the key, kept by PutPage or
	// in a chunk, or nil when it is not kept (not read yet, or deleted once
	// the result was stored).
	Page(ctx context.Context, key string, n int) (*Page, error)
	// DeletePages deletes pages 1 to n of the result with the key.
	DeletePages(ctx context.Context, key string, n int) error

	// PutChunk keeps chunk j of the result with the key: its pages,
	// numbered j*PageChunk+1 on, PageChunk of them but for the last chunk
	// of a document. A document read in ranges keeps its pages so, as its
	// result: a request per ten pages rather than per page.
	PutChunk(ctx context.Context, key string, j int, pages []*Page) error
	// Chunk returns chunk j of the result with the key, or nil when it is
	// not kept.
	Chunk(ctx context.Context, key string, j int) ([]*Page, error)
}

// PageChunk is how many pages a chunk of a paged result holds (PutChunk).
const PageChunk = 10

// ProgressCounter counts an upload's pages as they are read by invocations
// that each know only their own (the ranges of a fanned-out document).
type ProgressCounter interface {
	// AddPagesDone adds n to the progress of an upload that is processing
	// and has a progress. It changes nothing otherwise, without an error.
	AddPagesDone(ctx context.Context, uploadID string, n int) error
}
