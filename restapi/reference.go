package restapi

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"net/http"
	"strings"
	"sync"
)

// The API reference page: /v1/docs renders /v1/openapi.json in the browser
// with Redoc (the npm package's standalone bundle, pinned in
// reference/package-lock.json and refreshed by scripts/redoc.sh). Both are
// embedded in the binary, and the page's Content-Security-Policy lets it
// load nothing from any other host: no CDN, and it works on a gateway
// without internet access. Like openapi.json, the page needs no token.
// Its URLs are relative (openapi.json, docs/redoc.standalone.js), so it
// also works behind a proxy that mounts the API under a prefix.

//go:embed reference/index.html
var referencePage []byte

//go:embed reference/redoc.standalone.js
var redocBundle []byte

// redocBundleGzip is redocBundle compressed once (a quarter of its size),
// for the browsers that accept gzip, which is all of them: on the first
// request, not at the process's start (compressing the bundle took a
// quarter to half a second of every callgw process's start, gateway or
// not, before it could listen).
var redocBundleGzip = sync.OnceValue(func() []byte { return gzipBytes(redocBundle) })

// referenceCSP: scripts and the description from this origin only; Redoc
// injects its styles (styled-components) and runs its search index in a
// worker made from a blob.
const referenceCSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

func (s *Server) handleReference(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", referenceCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	_, _ = w.Write(referencePage)
}

func (s *Server) handleRedocBundle(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "public, max-age=86400")
	h.Add("Vary", "Accept-Encoding")
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		_, _ = w.Write(redocBundleGzip())
		return
	}
	_, _ = w.Write(redocBundle)
}
