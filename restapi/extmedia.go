package restapi

import (
	"io"
	"net/http"

	"github.com/callgw/callgw/callapi"
)

// externalMediaBody is the body of POST /v1/calls/{id}/external-media (the
// gateway names the external media).
type externalMediaBody struct {
	Host          string `json:"host"`
	Encapsulation string `json:"encapsulation,omitempty"`
	Transport     string `json:"transport,omitempty"`
	Format        string `json:"format,omitempty"`
}

func decodeExternalMedia(body io.Reader) (callapi.ExternalMediaArgs, error) {
	var b externalMediaBody
	if err := decodeJSON(body, &b); err != nil {
		return callapi.ExternalMediaArgs{}, err
	}
	return callapi.ExternalMediaArgs{Host: b.Host, Encapsulation: b.Encapsulation, Transport: b.Transport, Format: b.Format}, nil
}

// externalMediaURL is where external media of a call is stopped.
func externalMediaURL(id callapi.CallID, mediaID string) string {
	return callURL(id) + "/external-media/" + mediaID
}

// handleExternalMedia serves POST /v1/calls/{id}/external-media: 201 with
// the external media (its id, bridge and, for rtp, the local address the
// service sends its audio back to). Always synchronous.
func (s *Server) handleExternalMedia(w http.ResponseWriter, r *http.Request) {
	c, cancel, ok := parseCommand(s, w, r, false, callID, decodeExternalMedia)
	if !ok {
		return
	}
	defer cancel()
	var m callapi.ExternalMedia
	if _, err := s.calls.CallAction(c.ctx, c.o, c.id, callapi.ActCallExternalMedia, &c.args, &m); err != nil {
		s.fail(w, r, err)
		return
	}
	s.created(w, r, externalMediaURL(c.id, m.ID), &m, false, nil, nil)
}

// handleStopExternalMedia serves DELETE
// /v1/calls/{id}/external-media/{media_id}: 204.
func (s *Server) handleStopExternalMedia(w http.ResponseWriter, r *http.Request) {
	c, cancel, ok := parseCommand(s, w, r, true, callID, func(b io.Reader) (*callapi.ExternalMediaStopArgs, error) {
		if err := decodeEmpty(b); err != nil {
			return nil, err
		}
		id, err := pathParam(r, "media_id")
		return &callapi.ExternalMediaStopArgs{MediaID: id}, err
	})
	if !ok {
		return
	}
	defer cancel()
	acc, err := s.calls.CallAction(c.ctx, c.o, c.id, callapi.ActCallExternalMediaStop, c.args, nil)
	s.noContent(w, r, acc, err)
}
