package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// saved is the token `callctl login` keeps for later commands, in
// $XDG_CONFIG_HOME/callctl/token.json (0600), for one gateway URL.
type saved struct {
	URL     string    `json:"url"`
	Token   string    `json:"token"`
	Scope   string    `json:"scope,omitempty"`
	Expires time.Time `json:"expires"`
}

func loginPath(env func(string) string) (string, error) {
	dir := env("XDG_CONFIG_HOME")
	if dir == "" {
		home := env("HOME")
		if home == "" {
			return "", errors.New("neither XDG_CONFIG_HOME nor HOME is set")
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "callctl", "token.json"), nil
}

func loadLogin(env func(string) string) (*saved, error) {
	p, err := loginPath(env)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var s saved
	return &s, json.Unmarshal(b, &s)
}

func cmdLogin(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	id := fs.String("client-id", a.env("CALLGW_CLIENT_ID"), "OAuth2 client id (CALLGW_CLIENT_ID)")
	secret := fs.String("client-secret", a.env("CALLGW_CLIENT_SECRET"), "client secret (CALLGW_CLIENT_SECRET; default: read from stdin)")
	scope := fs.String("scope", "", "scopes to ask for, space-separated (default: all the client has)")
	return func(ctx context.Context, _ []string) error {
		if *id == "" {
			return errors.New("login needs --client-id (or CALLGW_CLIENT_ID)")
		}
		if *secret == "" {
			fmt.Fprint(a.errOut, "client secret: ")
			line, err := bufio.NewReader(a.in).ReadString('\n')
			if err != nil && line == "" {
				return fmt.Errorf("reading the secret: %w", err)
			}
			*secret = strings.TrimSpace(line)
		}
		tok, err := a.client.Token(ctx, *id, *secret, *scope)
		if err != nil {
			return err
		}
		s := saved{URL: strings.TrimRight(a.url, "/"), Token: tok.AccessToken, Scope: tok.Scope, Expires: time.Now().Add(time.Duration(tok.ExpiresIn) * time.Second)}
		p, err := loginPath(a.env)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		b, _ := json.MarshalIndent(s, "", "  ")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			return err
		}
		return a.show(map[string]any{"url": s.URL, "scope": s.Scope, "expires": s.Expires, "file": p}, func() {
			fmt.Fprintf(a.out, "logged in to %s as %s (scopes: %s) until %s; token saved in %s\n", s.URL, *id, orDash(s.Scope), s.Expires.Local().Format(time.DateTime), p)
		})
	}
}

// cmdInbound asks the ARI simulator of `callgw dev` to place an inbound
// call (POST /ari-sim/inbound), as a phone calling in would.
func cmdInbound(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	sim := fs.String("sim", envOr(a.env, "CALLGW_SIM_URL", "http://127.0.0.1:8088"), "the simulator's base URL (CALLGW_SIM_URL; callgw dev's --sim-addr)")
	user := fs.String("sim-user", envOr(a.env, "CALLGW_SIM_USER", "callgw"), "the simulator's ARI user (CALLGW_SIM_USER; callgw dev's: callgw)")
	password := fs.String("sim-password", envOr(a.env, "CALLGW_SIM_PASSWORD", "callgw"), "the simulator's ARI password (CALLGW_SIM_PASSWORD)")
	answerAfter := fs.Duration("hangup-after", 0, "the caller hangs up after this long (0: stays until hung up)")
	return func(ctx context.Context, pos []string) error {
		body := map[string]any{"from": pos[0]}
		if len(pos) > 1 {
			body["to"] = pos[1]
		}
		if *answerAfter > 0 {
			body["hangup_after"] = answerAfter.String()
		}
		b, _ := json.Marshal(body)
		u, err := url.JoinPath(*sim, "/ari-sim/inbound")
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(*user, *password)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("simulator: %w", err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return fmt.Errorf("simulator: %s: %w", resp.Status, err)
		}
		if resp.StatusCode >= 300 {
			return fmt.Errorf("simulator: %s: %v", resp.Status, out["message"])
		}
		return a.show(out, func() {
			fmt.Fprintf(a.out, "inbound call %v from %v to %v entered Stasis(%v): watch it with callctl events --type call.\n", out["channel_id"], out["from"], out["to"], out["app"])
		})
	}
}
