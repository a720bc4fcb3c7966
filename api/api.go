// Package api holds the HTTP API's OpenAPI 3.1 description, embedded so the
// local stack serves the same file the tests validate real responses with.
package api

import _ "embed"

// OpenAPI is api/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
