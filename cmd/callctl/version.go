package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
	"time"
)

// Set at build time by the Makefile (-ldflags "-X main.version=v1.2.3
// -X main.commit=… -X main.date=…", the same as callgw's); a plain go
// build in a git checkout still knows its commit and date.
var (
	version = "dev"
	commit  = ""
	date    = ""
)

// buildInfo is callctl's version, commit, build date and Go release.
type buildInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Date    string `json:"date"`
	Go      string `json:"go"`
}

// gatewayInfo is the gateway callctl version asked.
type gatewayInfo struct {
	URL        string `json:"url"`
	APIVersion string `json:"api_version"`
}

func ownBuild() buildInfo {
	b := buildInfo{Version: version, Commit: commit, Date: date, Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && b.Commit == "" && len(s.Value) >= 7:
				b.Commit = s.Value[:7]
			case s.Key == "vcs.time" && b.Date == "":
				b.Date = s.Value
			}
		}
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	if b.Date == "" {
		b.Date = "unknown"
	}
	return b
}

// cmdVersion prints callctl's version and, unless --client, the version of
// the API the gateway serves (its OpenAPI document's info.version). A
// gateway that cannot be reached is an error, as in kubectl version.
func cmdVersion(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	only := fs.Bool("client", false, "callctl's version only; do not ask the gateway")
	return func(ctx context.Context, _ []string) error {
		out := struct {
			Client  buildInfo    `json:"client"`
			Gateway *gatewayInfo `json:"gateway,omitempty"`
		}{Client: ownBuild()}
		var gwErr error
		if !*only {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			var doc struct {
				Info struct {
					Version string `json:"version"`
				} `json:"info"`
			}
			raw, err := a.client.OpenAPI(ctx)
			if err == nil {
				err = json.Unmarshal(raw, &doc)
			}
			if gwErr = err; err == nil {
				out.Gateway = &gatewayInfo{URL: a.client.BaseURL(), APIVersion: doc.Info.Version}
			}
		}
		if err := a.show(out, func() {
			c := out.Client
			fmt.Fprintf(a.out, "callctl %s (commit %s, built %s, %s)\n", c.Version, c.Commit, c.Date, c.Go)
			if out.Gateway != nil {
				fmt.Fprintf(a.out, "gateway %s: CallAPI %s\n", out.Gateway.URL, out.Gateway.APIVersion)
			}
		}); err != nil {
			return err
		}
		if gwErr != nil {
			return fmt.Errorf("gateway %s: %s (callctl version --client skips it)", a.url, describe(gwErr))
		}
		return nil
	}
}
