package config

import (
	"context"
	"fmt"
	"os"
	"time"
)

// WatchAuthClients re-reads the auth clients file at path when it changes
// (checked every interval) and when hup delivers (SIGHUP), until ctx ends,
// and hands the new list to apply: a gateway's REST server refuses a
// removed or disabled client's tokens from then on. Each reload, or its
// failure (a file that does not read or validate, or that apply refuses:
// the previous list stays in force), is told to report with why it was
// read.
func WatchAuthClients(ctx context.Context, path string, hup <-chan os.Signal, interval time.Duration,
	apply func([]AuthClient) error, report func(why string, clients int, err error)) error {
	stamp := func() string {
		fi, err := os.Stat(path)
		if err != nil {
			return "missing"
		}
		return fmt.Sprint(fi.ModTime().UnixNano(), fi.Size())
	}
	last := stamp()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		why := ""
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			why = "SIGHUP"
		case <-t.C:
			if st := stamp(); st != last {
				last, why = st, "file changed"
			}
		}
		if why == "" {
			continue
		}
		clients, err := ReadAuthClients(path)
		if err == nil {
			err = apply(clients)
		}
		report(why, len(clients), err)
	}
}
