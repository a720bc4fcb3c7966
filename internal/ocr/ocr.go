// Package ocr is the s3ocr domain: uploads, documents, results and the error
// codes a user can see, plus the services that hold the rules (creating an
// upload, reading an uploaded object into a result, reporting status).
//
// It imports nothing from AWS. The outside world reaches it through the small
// interfaces in store.go, implemented by internal/dynamostore, internal/s3store
// and internal/tesseract, and by in-memory fakes in internal/inmem for tests.
package ocr

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Status is where an upload is in its life.
type Status string

// The states of an upload. Pending and processing move forward only; done and
// failed are terminal.
const (
	StatusPending    Status = "pending"    // presigned, object not yet seen
	StatusProcessing Status = "processing" // object seen, OCR under way (here or by another upload with the same content)
	StatusDone       Status = "done"       // result available
	StatusFailed     Status = "failed"     // permanent failure, see Upload.Error
)

// Terminal reports whether no further change can happen to an upload in s.
func (s Status) Terminal() bool { return s == StatusDone || s == StatusFailed }

// Upload is one client's request to have one document read. Its ID is the only
// handle a client gets; the object key is derived from it, never from the
// filename.
type Upload struct {
	ID          string
	Status      Status
	Filename    string // sanitised, for display only
	ContentType string // as declared by the client
	Size        int64  // declared size: the POST policy's upper bound
	Languages   []string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ExpiresAt   time.Time // TTL; an upload past it does not exist
	UploadBy    time.Time // when the presigned POST stops working
	// Owner is the authenticated caller (the token's sub) who created the
	// upload; only they may see or erase it. Empty when the API is open:
	// the id alone is the key then.
	Owner string
	// Quota is the subject whose daily quota the upload counts against
	// (QuotaSubject): its pages are counted there when it is read. Empty
	// when the deployment sets no quota.
	Quota string

	// Set once the object has been read.
	Document        *Document
	ResultKey       string    // key of the ResultRecord this upload reads from
	Cached          bool      // the result was computed for other bytes-identical content
	ProcessingSince time.Time // when the upload entered processing
	Progress        *Progress // pages read so far, for documents of several pages
	Error           *Error    // set when Status is failed
}

// Progress is how far the reading of a document of several pages is.
type Progress struct {
	PagesDone int `json:"pagesDone"`
	Pages     int `json:"pages"`
	// PagesReady is how many pages from the first can be had already, one
	// at a time (GET /uploads/{id}/pages/{n}); pages finish out of order
	// when several engines read them.
	PagesReady int `json:"pagesReady,omitempty"`
}

// Document describes the uploaded bytes as the service found them.
type Document struct {
	SHA256      string `json:"sha256"`
	ContentType string `json:"contentType"` // sniffed from the bytes
	Size        int64  `json:"size"`
	Pages       int    `json:"pages,omitempty"`
}

// Options are the choices that change what OCR produces for the same bytes.
// Everything that can change the output belongs here, because results are
// shared between uploads whose content and options are equal.
type Options struct {
	Languages []string
	// Scope keeps results apart between owners: uploads share a result
	// only within one scope. The owner when results are not shared across
	// owners (SHARE_RESULTS=owner, with authentication); empty otherwise.
	Scope string
}

// AutoLanguage, alone in Options.Languages, asks for each page's languages
// to be chosen from its script. It is part of the result key like any
// language, so automatic results are never shared with explicit ones.
const AutoLanguage = "auto"

// ResultKey names the result for content with the given SHA-256 (hex), read
// with these options by the given engine version. Uploads of the same bytes
// with equal options share one key and so one OCR run.
//
// Language order is kept: Tesseract treats the first language as primary, so
// "eng+deu" and "deu+eng" can read differently.
func (o Options) ResultKey(contentSHA256, engineVersion string) string {
	in := "langs=" + strings.Join(o.Languages, "+") + "\nengine=" + engineVersion + "\npipeline=" + PipelineVersion
	if o.Scope != "" {
		// Only hashed: the key names no owner.
		in += "\nscope=" + o.Scope
	}
	h := sha256.Sum256([]byte(in))
	return contentSHA256 + "-" + hex.EncodeToString(h[:8])
}

// PipelineVersion changes whenever preprocessing or result assembly changes in
// a way that alters results, so that old cached results are not reused.
const PipelineVersion = "6"

// Result is what OCR read from one document.
type Result struct {
	Text       string     `json:"text"`       // whole document; pages joined by form feeds
	Confidence float64    `json:"confidence"` // 0–1, mean over words
	Languages  []string   `json:"languages"`
	Pages      []Page     `json:"pages"`
	Engine     EngineInfo `json:"engine"`
	Entities   []Entity   `json:"entities"`
	// DocumentType is a guess from the entities, when they make one clear
	// (an Aadhaar number on a page that says so is an Aadhaar card).
	DocumentType string `json:"documentType,omitempty"`
}

// Entity is a structured value found in the text.
type Entity struct {
	Type  string `json:"type"`  // email, phone, date, money, iban, card, pan, aadhaar, driving_licence, passport, udyam
	Text  string `json:"text"`  // as printed; masked for card and aadhaar numbers
	Value string `json:"value"` // normalised: ISO date, "EUR 12.50", compact IBAN, …; masked like Text where Text is
	Page  int    `json:"page"`
	BBox  BBox   `json:"bbox"`
}

// EngineInfo names the OCR engine that produced a result.
type EngineInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Page is one page of a result. Coordinates are page pixels, origin top left.
type Page struct {
	Number     int     `json:"number"` // from 1
	Width      int     `json:"width,omitempty"`
	Height     int     `json:"height,omitempty"`
	Text       string  `json:"text"`
	Confidence float64 `json:"confidence"` // 0–1
	Lines      []Line  `json:"lines,omitempty"`
	// Languages are those the page was read with when they were chosen
	// for it (languages "auto"); empty when they are the document's.
	Languages []string `json:"languages,omitempty"`
}

// Line is one text line in reading order.
type Line struct {
	Text       string  `json:"text"`
	Confidence float64 `json:"confidence"`
	BBox       BBox    `json:"bbox"`
	Words      []Word  `json:"words,omitempty"`
}

// Word is one recognised word.
type Word struct {
	Text       string  `json:"text"`
	Confidence float64 `json:"confidence"`
	BBox       BBox    `json:"bbox"`
}

// BBox is a box as [x0, y0, x1, y1] in page pixels, x1/y1 exclusive.
type BBox [4]int

// ResultState is where a shared result is in its life.
type ResultState string

// The states of a ResultRecord.
const (
	ResultProcessing ResultState = "processing" // claimed; Owner holds a lease until LeaseUntil
	ResultDone       ResultState = "done"
	ResultFailed     ResultState = "failed" // the content itself cannot be read; Error says why
)

// ResultRecord is the stored outcome of reading one content with one set of
// options, shared by every upload of that content.
type ResultRecord struct {
	Key        string
	State      ResultState
	Owner      string    // upload id holding the claim while processing
	LeaseUntil time.Time // a processing claim past this may be taken over
	Document   Document
	Result     *Result // inline result, when it fits in a store item
	ObjectKey  string  // object holding the result JSON, when it did not fit
	Error      *Error  // when State is failed
	// Takeovers counts the claims taken over from a worker whose lease had
	// lapsed: each is a worker that died reading this content (killed out
	// of memory, at its timeout, or crashed) without a word.
	Takeovers int
	// ReadFor is the owner (Upload.Owner) of the upload whose reading made
	// the result. Another owner's upload that reuses it (SHARE_RESULTS=all)
	// is not told it was cached, which would say someone else had the file.
	ReadFor string
	// Paged says the result's pages are kept apart, one object each
	// (PageStore, under the result's key), and Result holds the rest: a
	// document read in ranges (fan-out) is never one object or item, so
	// no function holds its thousands of pages at once.
	Paged     bool
	CreatedAt time.Time
	UpdatedAt time.Time
	ExpiresAt time.Time // TTL; a record past it does not exist
}
