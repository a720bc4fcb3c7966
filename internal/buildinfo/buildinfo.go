// Package buildinfo holds what the build stamps into the binaries with
// -ldflags -X (see the Makefile): the service's version and the Tesseract
// version the process function links, so the functions that do not link
// Tesseract can still report it.
package buildinfo

// Version is the service's version: `git describe` at build time.
var Version = "dev"

// Tesseract is the version of the Tesseract library the process function
// was built with; empty in binaries built without the Makefile.
var Tesseract = ""
