package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/callgw/callgw/callapi"
)

func (a *app) webhookTable(ws []*callapi.Webhook) {
	var rows [][]string
	for _, w := range ws {
		filters := []string{}
		if len(w.Types) > 0 {
			filters = append(filters, "types="+strings.Join(w.Types, ","))
		}
		for k, v := range map[string]string{"node": string(w.Node), "tag": w.Tag, "call": string(w.CallID)} {
			if v != "" {
				filters = append(filters, k+"="+v)
			}
		}
		counts := "-"
		if w.Pending != nil && w.Retrying != nil && w.Dead != nil {
			counts = fmt.Sprintf("%d/%d/%d", *w.Pending, *w.Retrying, *w.Dead)
		}
		rows = append(rows, []string{w.ID, w.State, w.URL, orDash(strings.Join(filters, " ")), counts, age(w.Created)})
	}
	a.table("ID\tSTATE\tURL\tFILTERS\tPENDING/RETRYING/DEAD\tAGE", rows)
}

func (a *app) showWebhook(w *callapi.Webhook) error {
	return a.show(w, func() {
		a.webhookTable([]*callapi.Webhook{w})
		if w.Secret != "" {
			fmt.Fprintf(a.out, "secret: %s\n(shown this once: keep it to verify the signatures)\n", w.Secret)
		}
	})
}

// cmdWebhook is `callctl webhook <op>`: every /v1/webhooks operation.
func cmdWebhook(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	types := fs.String("type", "", "create, update: comma-separated event types or prefixes (call.hangup, call.); empty: every type")
	node := fs.String("node", "", "create, update: only this node's events")
	tag := fs.String("tag", "", "create, update: only the events of calls with this tag")
	callID := fs.String("call", "", "create, update: only this call's events")
	desc := fs.String("description", "", "create, update: free text")
	target := fs.String("target", "", "update: the new target URL")
	overlap := fs.Duration("overlap", callapi.WebhookRotateOverlap, "rotate: how long the previous secret keeps signing (0: revoked now)")
	limit := fs.Int("limit", 20, "log: how many attempts, newest first (1-50)")
	return func(ctx context.Context, pos []string) error {
		sub, rest := pos[0], pos[1:]
		if sub == "list" {
			ws, err := a.client.ListWebhooks(ctx, a.callOpts()...)
			if err != nil {
				return err
			}
			return a.show(ws, func() { a.webhookTable(ws) })
		}
		if len(rest) != 1 {
			return fmt.Errorf("webhook %s takes one argument: %s", sub, map[bool]string{true: "<url>", false: "<webhook-id>"}[sub == "create"])
		}
		id := rest[0]
		// The filter members the command line set (update changes only those).
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		req := func() callapi.WebhookRequest {
			var r callapi.WebhookRequest
			if set["type"] {
				ts := []string{}
				for _, t := range strings.Split(*types, ",") {
					if t = strings.TrimSpace(t); t != "" {
						ts = append(ts, t)
					}
				}
				r.Types = &ts
			}
			if set["node"] {
				n := callapi.NodeID(*node)
				r.Node = &n
			}
			if set["tag"] {
				r.Tag = tag
			}
			if set["call"] {
				c := callapi.CallID(*callID)
				r.CallID = &c
			}
			if set["description"] {
				r.Description = desc
			}
			if set["target"] {
				r.URL = target
			}
			return r
		}
		switch sub {
		case "create":
			r := req()
			r.URL = &id
			w, err := a.client.CreateWebhook(ctx, r, a.callOpts()...)
			if err != nil {
				return err
			}
			return a.showWebhook(w)
		case "get":
			w, err := a.client.GetWebhook(ctx, id, a.callOpts()...)
			if err != nil {
				return err
			}
			return a.showWebhook(w)
		case "update":
			w, err := a.client.UpdateWebhook(ctx, id, req(), a.callOpts()...)
			if err != nil {
				return err
			}
			return a.showWebhook(w)
		case "delete":
			if err := a.client.DeleteWebhook(ctx, id, a.callOpts()...); err != nil {
				return err
			}
			return a.done("deleted webhook %s", id)
		case "pause", "resume":
			fn := a.client.PauseWebhook
			if sub == "resume" {
				fn = a.client.ResumeWebhook
			}
			w, err := fn(ctx, id, a.callOpts()...)
			if err != nil {
				return err
			}
			return a.showWebhook(w)
		case "rotate":
			secs := int(*overlap / time.Second)
			w, err := a.client.RotateWebhookSecret(ctx, id, &secs, a.callOpts()...)
			if err != nil {
				return err
			}
			return a.showWebhook(w)
		case "ping":
			at, err := a.client.PingWebhook(ctx, id, a.callOpts()...)
			if err != nil {
				return err
			}
			return a.show(at, func() { a.attemptTable([]callapi.WebhookAttempt{*at}) })
		case "log":
			as, err := a.client.WebhookAttempts(ctx, id, *limit, a.callOpts()...)
			if err != nil {
				return err
			}
			return a.show(as, func() { a.attemptTable(as) })
		}
		return fmt.Errorf("unknown webhook subcommand %q: create, list, get, update, delete, pause, resume, rotate, ping, log", sub)
	}
}

func (a *app) attemptTable(as []callapi.WebhookAttempt) {
	var rows [][]string
	for _, at := range as {
		status := "-"
		if at.Status != 0 {
			status = strconv.Itoa(at.Status)
		}
		rows = append(rows, []string{at.Time.Local().Format("15:04:05.000"), string(at.EventType), at.EventID, strconv.Itoa(at.Attempt),
			at.Outcome, status, fmt.Sprintf("%.1fms", at.LatencyMS), orDash(at.Error)})
	}
	a.table("TIME\tEVENT\tEVENT ID\tATTEMPT\tOUTCOME\tSTATUS\tLATENCY\tERROR", rows)
}
