package arisim

import "net/http"

// ---- /mailboxes (mailboxes.json): the message counts applications set over ARI (res_stasis_mailbox).

// mailboxJSON is ARI's Mailbox.
type mailboxJSON struct {
	Name        string `json:"name"`
	OldMessages int    `json:"old_messages"`
	NewMessages int    `json:"new_messages"`
}

func (s *Server) listMailboxes(w http.ResponseWriter, _ *request) {
	out := make([]mailboxJSON, 0, len(s.mailboxes))
	for _, n := range sortedKeys(s.mailboxes) {
		out = append(out, s.mailboxes[n])
	}
	reply(w, out, nil)
}

func (s *Server) getMailbox(w http.ResponseWriter, q *request) {
	m, ok := s.mailboxes[q.path("mailboxName")]
	if !ok {
		// resource_mailboxes.c's wording, typo included.
		reply(w, nil, errf(404, "Mailbox is does not exist"))
		return
	}
	reply(w, m, nil)
}

// putMailbox sets the counts, creating the mailbox (Asterisk reads the counts with atoi: absent or
// junk is 0).
func (s *Server) putMailbox(w http.ResponseWriter, q *request) {
	name := q.path("mailboxName")
	s.mailboxes[name] = mailboxJSON{Name: name, OldMessages: q.num("oldMessages", 0), NewMessages: q.num("newMessages", 0)}
	reply(w, nil, nil)
}

func (s *Server) deleteMailbox(w http.ResponseWriter, q *request) {
	name := q.path("mailboxName")
	if _, ok := s.mailboxes[name]; !ok {
		reply(w, nil, errf(404, "Mailbox does not exist"))
		return
	}
	delete(s.mailboxes, name)
	reply(w, nil, nil)
}
