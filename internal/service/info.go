package service

import (
	"github.com/s3ocr/s3ocr/internal/ocr"
)

// Info is what GET /info returns: what this deployment reads and its limits,
// so clients can check before they upload.
type Info struct {
	Service      string         `json:"service"`
	Version      string         `json:"version"`
	Engine       ocr.EngineInfo `json:"engine"`
	Languages    []string       `json:"languages"`
	ContentTypes []string       `json:"contentTypes"`
	Limits       Limits         `json:"limits"`
	// Quota is the caller's own quota today, when the deployment sets one
	// and knows the caller (their token, or with the API open, their
	// address).
	Quota *QuotaInfo `json:"quota,omitempty"`
}

// Limits are the bounds a client's upload must respect.
type Limits struct {
	MaxUploadBytes       int64 `json:"maxUploadBytes"`
	MaxPixelsPerPage     int64 `json:"maxPixelsPerPage"`
	MaxPages             int   `json:"maxPages"`
	MaxLanguages         int   `json:"maxLanguages"`
	MaxFilenameBytes     int   `json:"maxFilenameBytes"`
	PresignExpirySeconds int   `json:"presignExpirySeconds"`
}
