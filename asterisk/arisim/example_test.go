package arisim_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/callgw/callgw/asterisk/arisim"
)

// A simulator in a test: ARI at ts.URL + "/ari", credentials from Config.
func Example() {
	srv := arisim.New(arisim.Config{User: "u", Password: "p"})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	defer srv.Close()

	req, _ := http.NewRequest("GET", ts.URL+"/ari/channels/nope", nil)
	req.SetBasicAuth("u", "p")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(b))
	// Output: 404 {"message":"Channel not found"}
}
