//go:build !cgo

package imaging

import "image"

// jpegGrey needs cgo (jpeggrey.go); without it every JPEG goes to
// image/jpeg.
func jpegGrey(data []byte, w, h int) (*image.Gray, bool) { return nil, false }
