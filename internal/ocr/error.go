package ocr

import (
	"errors"
	"fmt"
)

// Error codes a client can see. They are stable: clients and tests match on
// them. The HTTP status for each lives in one place, internal/handler.
const (
	// Request errors (HTTP API).
	EINVALID        = "invalid_request"      // malformed JSON or a missing/invalid field
	EBODYTOOLARGE   = "body_too_large"       // request body over the API's small limit
	EFILENAME       = "invalid_filename"     // filename empty, too long or with control characters
	EUNSUPPORTED    = "unsupported_type"     // content type the service does not read
	ETOOLARGE       = "too_large"            // declared or actual size over the limit
	ELANGUAGE       = "unsupported_language" // language not installed
	EBADID          = "invalid_upload_id"    // upload id not of the form the service issues
	ENOTFOUND       = "not_found"            // unknown or expired upload
	EMETHOD         = "method_not_allowed"   // route exists, method does not
	EINTERNAL       = "internal"             // anything the client cannot fix; details only in logs
	EUNAVAILABLE    = "unavailable"          // a dependency is down or throttling; retry later
	ERESULTEXPIRED  = "result_expired"       // the upload is done but its stored result has expired
	EEMPTY          = "empty_file"           // zero-byte object
	ETYPEMISMATCH   = "type_mismatch"        // bytes are not of the declared type
	EBADIMAGE       = "bad_image"            // image truncated or corrupt
	ETOOMANYPIXELS  = "too_many_pixels"      // image dimensions over the pixel limit (checked before decoding)
	ETOOMANYPAGES   = "too_many_pages"       // more pages than the limit
	EBADPDF         = "bad_pdf"              // a PDF that cannot be read
	EENCRYPTED      = "encrypted_pdf"        // a PDF that needs a password
	EOCRFAILED      = "ocr_failed"           // the engine could not read a valid image
	ETIMEOUT        = "timeout"              // processing ran out of time
	EMISSINGUPLOAD  = "unknown_upload"       // an object arrived for an upload id with no record
	ENOTREADY       = "not_ready"            // text or hOCR asked for an upload that is not done yet
	ENOTUPLOADED    = "not_uploaded"         // no file arrived before the presigned POST expired
	EOBJECTNOTFOUND = "object_not_found"     // the event's object is gone
	ETOOCOMPLEX     = "too_complex"          // a page needs more memory, CPU time or output than a reader is allowed
)

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

// Permanent reports whether retrying the work that returned err cannot help:
// the input itself is at fault. Errors without a code (network, throttling,
// 5xx from a dependency) are transient, and so are EUNAVAILABLE and EINTERNAL.
func Permanent(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case EUNAVAILABLE, EINTERNAL:
		return false
	}
	return true
}

// NotFound reports whether err says the thing asked for does not exist.
func NotFound(err error) bool {
	return ErrorCode(err) == ENOTFOUND
}
