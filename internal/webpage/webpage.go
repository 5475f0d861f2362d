// Package webpage is Gatehouse's built-in sign-in page: plain HTML, a
// stylesheet and a little JavaScript embedded in the binary. It signs in,
// shows who is signed in and signs out through cookie mode, so no token is
// ever within reach of the page's script. It is also the live example for
// web developers: the script is short and commented.
package webpage

import (
	"embed"
	"net/http"
	"path"
)

//go:embed index.html verify-email.html reset-password.html assets
var files embed.FS

// types are the content types of the files served, by extension.
var types = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

// CSP is the page's Content-Security-Policy: only its own script, style
// and icon, calls to its own origin, and no framing, plugins or inline code.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// pages are the HTML pages by path: the sign-in page, and the pages that
// links in mail lead to (the token in the fragment, see assets/link.js).
var pages = map[string]string{
	"/":               "index.html",
	"/verify-email":   "verify-email.html",
	"/reset-password": "reset-password.html",
}

// Handler serves the pages (see pages) and their files under /assets/;
// any other path is answered by notFound.
func Handler(notFound http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := pages[r.URL.Path]
		if !ok {
			name = path.Clean(r.URL.Path[1:])
		}
		body, err := files.ReadFile(name)
		ctype, known := types[path.Ext(name)]
		if err != nil || !known {
			notFound.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", ctype)
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Security-Policy", CSP)
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		h.Set("Referrer-Policy", "no-referrer")
		_, _ = w.Write(body)
	})
}
