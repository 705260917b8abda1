package restapi

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A request framed by both Transfer-Encoding and Content-Length may hide a
// second request in what a Content-Length-framing proxy takes for its body
// (RFC 9112 §6.1): the server must close the connection after answering
// it, so that the hidden request never runs.
func TestTransferEncodingClosesConnection(t *testing.T) {
	hidden := 0
	s := MustNewServer(t, Config{}, deps{})
	h := s.Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hidden" {
			hidden++
		}
		h.ServeHTTP(w, r)
	}))
	defer ts.Close()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	smuggled := "GET /hidden HTTP/1.1\r\nHost: x\r\n\r\n"
	body := "0\r\n\r\n" + smuggled
	req := "POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\nTransfer-Encoding: chunked\r\n\r\n" + body
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if !resp.Close {
		t.Errorf("the answer does not say Connection: close (header %q)", resp.Header.Get("Connection"))
	}
	if resp2, err := http.ReadResponse(br, nil); err == nil {
		t.Fatalf("the hidden request was answered: %s", resp2.Status)
	} else if !strings.Contains(err.Error(), "EOF") {
		t.Fatalf("reading after the answer: %v, want EOF", err)
	}
	if hidden != 0 {
		t.Fatal("the hidden request ran")
	}
}
