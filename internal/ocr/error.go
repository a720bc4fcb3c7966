package ocr

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes a client can see. They are stable: clients and tests match on
// them. Everything else known about a code lives in the Codes table below.
const (
	EINVALID        = "invalid_request"
	EBODYTOOLARGE   = "body_too_large"
	EFILENAME       = "invalid_filename"
	EUNSUPPORTED    = "unsupported_type"
	ETOOLARGE       = "too_large"
	ELANGUAGE       = "unsupported_language"
	EBADID          = "invalid_upload_id"
	ENOTFOUND       = "not_found"
	EMETHOD         = "method_not_allowed"
	EINTERNAL       = "internal"
	EUNAVAILABLE    = "unavailable"
	ERESULTEXPIRED  = "result_expired"
	EEMPTY          = "empty_file"
	ETYPEMISMATCH   = "type_mismatch"
	EBADIMAGE       = "bad_image"
	ETOOMANYPIXELS  = "too_many_pixels"
	ETOOMANYPAGES   = "too_many_pages"
	EBADPDF         = "bad_pdf"
	EENCRYPTED      = "encrypted_pdf"
	EOCRFAILED      = "ocr_failed"
	ETIMEOUT        = "timeout"
	EMISSINGUPLOAD  = "unknown_upload"
	ENOTREADY       = "not_ready"
	ENOTUPLOADED    = "not_uploaded"
	EOBJECTNOTFOUND = "object_not_found"
	ETOOCOMPLEX     = "too_complex"
	ECRASHED        = "crashed"
	EQUOTA          = "quota_exceeded"
	EORIGINALGONE   = "original_deleted"
	EUNAUTHORIZED   = "unauthorized"
)

// Cause says whose fault a failure is, which decides what is done with it.
type Cause int

// The causes of failures.
const (
	// CauseRequest: the API request is wrong. The client fixes it; nothing
	// is recorded.
	CauseRequest Cause = iota
	// CauseContent: the document itself cannot be read, and never will be:
	// the upload fails, is not retried, and the failure is kept as the
	// content's result so the same bytes are refused again without work.
	CauseContent
	// CauseUpload: this upload cannot go on (its file never came, is gone,
	// or did not fit in the function's time). It fails and is not retried,
	// but says nothing of the content, so nothing is kept for it.
	CauseUpload
	// CauseTransient: a dependency or the deployment failed; trying again
	// can help, so the work is retried and nothing is kept.
	CauseTransient
)

// CodeInfo is everything the service knows about one error code: the HTTP
// status it is answered with, whose fault it is, and when it happens. The
// HTTP mapping, the retry decision, the OpenAPI enum, the browser page's
// messages and the README's table all come from, or are tested against,
// this table.
type CodeInfo struct {
	Code   string
	Status int   // HTTP status when a request meets it (a failed upload's text is asked for: 422)
	Cause  Cause // what is done with it
	When   string
}

// Codes lists every error code.
var Codes = []CodeInfo{
	{EINVALID, http.StatusBadRequest, CauseRequest, "malformed JSON, unknown field, missing or invalid value"},
	{EFILENAME, http.StatusBadRequest, CauseRequest, "filename empty, over 255 bytes, or with control characters"},
	{ELANGUAGE, http.StatusBadRequest, CauseRequest, "a language the deployment does not have"},
	{EBADID, http.StatusBadRequest, CauseRequest, "not an upload id this service issues"},
	{ENOTFOUND, http.StatusNotFound, CauseRequest, "unknown or expired upload, unknown route"},
	{EMETHOD, http.StatusMethodNotAllowed, CauseRequest, "the route exists, the method does not"},
	{EUNAUTHORIZED, http.StatusUnauthorized, CauseRequest, "the token sent is invalid, expired or for another API, or none was sent where one is required"},
	{EBODYTOOLARGE, http.StatusRequestEntityTooLarge, CauseRequest, "request body over 16 KiB"},
	{ETOOLARGE, http.StatusRequestEntityTooLarge, CauseContent, "declared or actual size over the limit"},
	{EUNSUPPORTED, http.StatusUnsupportedMediaType, CauseContent, "a type of file the service does not read"},
	{ENOTREADY, http.StatusConflict, CauseRequest, "text or another format asked for before the upload is done"},
	{ERESULTEXPIRED, http.StatusGone, CauseRequest, "the upload is done but its stored result has expired"},
	{EORIGINALGONE, http.StatusGone, CauseRequest, "a searchable PDF asked for, but the uploaded file was deleted once read (KEEP_UPLOADS is off)"},
	{EQUOTA, http.StatusTooManyRequests, CauseUpload, "the caller's daily quota of uploads, bytes or pages is used up (Retry-After says when it resets)"},
	{EUNAVAILABLE, http.StatusServiceUnavailable, CauseTransient, "a dependency is down or throttling; retry later"},
	{EINTERNAL, http.StatusInternalServerError, CauseTransient, "anything the client cannot fix; details only in the logs"},
	{EEMPTY, http.StatusUnprocessableEntity, CauseContent, "the file is empty"},
	{ETYPEMISMATCH, http.StatusUnprocessableEntity, CauseContent, "the bytes are not of the declared type"},
	{EBADIMAGE, http.StatusUnprocessableEntity, CauseContent, "an image truncated, corrupt, or built to exhaust its decoder"},
	{ETOOMANYPIXELS, http.StatusUnprocessableEntity, CauseContent, "a page over the pixel limit, checked before decoding"},
	{ETOOMANYPAGES, http.StatusUnprocessableEntity, CauseContent, "more pages than the limit, checked before decoding"},
	{EBADPDF, http.StatusUnprocessableEntity, CauseContent, "a PDF that cannot be read"},
	{EENCRYPTED, http.StatusUnprocessableEntity, CauseContent, "a PDF that needs a password"},
	{ETOOCOMPLEX, http.StatusUnprocessableEntity, CauseContent, "a page needs more memory, CPU time or output than a reader is allowed"},
	{EOCRFAILED, http.StatusUnprocessableEntity, CauseContent, "the engine could not read a valid image"},
	{ETIMEOUT, http.StatusUnprocessableEntity, CauseUpload, "reading ran out of time"},
	{ECRASHED, http.StatusUnprocessableEntity, CauseUpload, "reading the file ended the function twice (out of memory, at its timeout, or a crash)"},
	{EOBJECTNOTFOUND, http.StatusUnprocessableEntity, CauseUpload, "the uploaded object is gone before it was read"},
	{ENOTUPLOADED, http.StatusUnprocessableEntity, CauseUpload, "no file arrived before the presigned POST expired"},
	{EMISSINGUPLOAD, http.StatusUnprocessableEntity, CauseUpload, "an object arrived for an upload id with no record"},
}

var codeIndex = func() map[string]CodeInfo {
	m := make(map[string]CodeInfo, len(Codes))
	for _, c := range Codes {
		m[c.Code] = c
	}
	return m
}()

// Lookup returns what is known of code; an unknown code is treated as
// EINTERNAL.
func Lookup(code string) CodeInfo {
	if c, ok := codeIndex[code]; ok {
		return c
	}
	return codeIndex[EINTERNAL]
}

// Error is a failure a user can cause or see: a stable Code and a Message
// written for people. Internal causes are wrapped in Err and never shown.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Err     error  `json:"-"`
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of the first *Error in err's chain,
// or a generic message for anything else, so internal details never reach a
// client.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "An internal error occurred."
}

// Permanent reports whether retrying the work that returned err cannot help.
// Errors without a code (network, throttling, 5xx from a dependency) are
// transient, and so are the codes the Codes table calls transient.
func Permanent(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	return Lookup(e.Code).Cause != CauseTransient
}

// ContentFault reports whether err says the content itself cannot be read,
// so that the failure may be kept as the content's result.
func ContentFault(err error) bool {
	var e *Error
	return errors.As(err, &e) && Lookup(e.Code).Cause == CauseContent
}

// NotFound reports whether err says the thing asked for does not exist.
func NotFound(err error) bool {
	return ErrorCode(err) == ENOTFOUND
}
