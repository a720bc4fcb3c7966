//go:build cgo

package imaging

const cgoBuild = true
