package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/callgw/callgw/callapi"
	"github.com/callgw/callgw/callapi/client"
)

// cmdExternalMedia: callctl media <call-id> <host:port> starts external
// media; callctl media <call-id> --stop <media-id> stops it.
func cmdExternalMedia(a *app, fs *flag.FlagSet) func(context.Context, []string) error {
	var req client.ExternalMediaRequest
	var stop bool
	fs.StringVar(&req.Encapsulation, "encapsulation", "", "rtp (default), audiosocket, none (websocket)")
	fs.StringVar(&req.Transport, "transport", "", "udp, tcp, websocket (follows from --encapsulation)")
	fs.StringVar(&req.Format, "format", "", "audio format: ulaw (default), alaw, slin16, …")
	fs.BoolVar(&stop, "stop", false, "stop the external media named by the second argument")
	return func(ctx context.Context, pos []string) error {
		id := callapi.CallID(pos[0])
		if stop {
			if err := a.client.StopExternalMedia(ctx, id, pos[1], a.callOpts()...); err != nil {
				return err
			}
			return a.done("stopped external media %s of %s", pos[1], pos[0])
		}
		req.Host = pos[1]
		m, err := a.client.StartExternalMedia(ctx, id, req, a.callOpts()...)
		if err != nil {
			return err
		}
		return a.show(m, func() {
			fmt.Fprintf(a.out, "external media %s: %s over %s to %s (%s), bridge %s\n", m.ID, m.Encapsulation, m.Transport, m.Host, m.Format, m.BridgeID)
			if m.LocalPort != 0 {
				fmt.Fprintf(a.out, "send the audio back to %s:%d\n", m.LocalAddress, m.LocalPort)
			}
		})
	}
}
