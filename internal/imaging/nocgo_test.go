//go:build !cgo

package imaging

const cgoBuild = false
