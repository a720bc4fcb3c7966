// Package web is the browser page: index.html, app.js and style.css, plain
// files with no build step, embedded so that the status function serves at
// the API's root exactly the page the browser test drives (handler.Page).
// web/test holds that test's driver and is not part of the page.
package web

import "embed"

// FS holds index.html, app.js and style.css.
//
//go:embed index.html app.js style.css
var FS embed.FS
