//go:build !cgo

package imaging

import "image"

// Without cgo there is no libjpeg-turbo (jpeggrey.go): every JPEG goes to
// image/jpeg.
const libjpeg = false

func jpegGrey(data []byte, w, h int) (*image.Gray, bool) { return nil, false }

func jpegGreyRows(data []byte, w, h, rows, photometric int, out []byte) bool { return false }
