// Package console is the operator console: a browser page, served by the
// gateway at /console, that shows the nodes, the live calls (kept current
// from the event stream, not by polling), each call's timeline and the
// records of ended calls, and controls calls through the CallAPI
// (originate, hang up, hold, mute, play, blind transfer, bridge).
//
// The page is hand-written JavaScript modules and CSS, embedded in the
// binary: no build step, no CDN, nothing fetched from another host (its
// Content-Security-Policy forbids it). It holds no secrets of its own: it
// signs in at the gateway's token endpoint like any API client (or takes
// a pasted token), keeps the token in the tab's sessionStorage, and sees
// exactly what the token may see. Its URLs are relative, so it also works
// behind a proxy that mounts the gateway under a prefix.
package console

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var files embed.FS

// CSP lets the page load and connect to its own origin only. Styles are
// in style.css (no inline styles or scripts).
const CSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// types are the content types of the files the console serves.
var types = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

// Handler serves the console's files; mount it with the /console prefix
// stripped: "" (the page, at /console) and "/" are the page, "/app.js" a
// module, and so on. The page names its files console/app.js, and the API
// relative to /console (v1/calls), so it works under any prefix. Unknown
// paths go to notFound (nil: a plain 404); only GET and HEAD are answered.
func Handler(notFound http.Handler) http.Handler {
	if notFound == nil {
		notFound = http.NotFoundHandler()
	}
	static, err := fs.Sub(files, "static")
	if err != nil { // cannot happen: "static" is a valid path, embedded at build time
		static = files
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name == "" {
			name = "index.html"
		}
		typ, ok := types[path.Ext(name)]
		if !ok {
			notFound.ServeHTTP(w, r)
			return
		}
		body, err := fs.ReadFile(static, name)
		if err != nil {
			notFound.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", typ)
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		// The files change with the binary: always revalidate.
		h.Set("Cache-Control", "no-cache")
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(body)
	})
}
