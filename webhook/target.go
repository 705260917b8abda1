package webhook

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"syscall"

	"github.com/callgw/callgw/callapi"
)

// Policy says which targets a subscription may name. The zero value is the
// production policy: https only, public addresses only.
type Policy struct {
	// AllowHTTP accepts http:// targets anywhere (dev).
	AllowHTTP bool
	// AllowLoopback accepts loopback addresses (http allowed there).
	AllowLoopback bool
	// AllowPrivate accepts private, shared (CGNAT), link-local and
	// cloud-metadata addresses.
	AllowPrivate bool
}

var sharedSpace = netip.MustParsePrefix("100.64.0.0/10")

// checkIP refuses the addresses the policy does not allow.
func (p Policy) checkIP(ip netip.Addr) error {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		if !p.AllowLoopback {
			return fmt.Errorf("loopback address %s refused", ip)
		}
	case ip.IsUnspecified(), ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return fmt.Errorf("address %s refused", ip)
	case ip.IsPrivate(), ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(), sharedSpace.Contains(ip):
		if !p.AllowPrivate {
			return fmt.Errorf("private, link-local or metadata address %s refused", ip)
		}
	}
	return nil
}

// CheckURL validates a target URL: absolute http(s) without credentials;
// https unless the host is loopback (and allowed) or AllowHTTP; every
// address the host resolves to allowed. Errors are invalid_argument on
// "url".
func (p Policy) CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || len(raw) > 2048 {
		return callapi.InvalidBecause("url", callapi.ReasonInvalidURL, "%q is not an absolute URL", raw)
	}
	if u.User != nil || u.Fragment != "" {
		return callapi.InvalidBecause("url", callapi.ReasonInvalidURL, "a target URL carries no credentials and no fragment")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return callapi.InvalidBecause("url", callapi.ReasonInvalidURL, "scheme %q: use https", u.Scheme)
	}
	ips, err := p.resolve(ctx, u.Hostname())
	if err != nil {
		return callapi.InvalidBecause("url", callapi.ReasonUnresolvableHost, "host %q does not resolve", u.Hostname())
	}
	loop := true
	for _, ip := range ips {
		if err := p.checkIP(ip); err != nil {
			return callapi.InvalidBecause("url", callapi.ReasonTargetRefused, "target refused: %v", err)
		}
		loop = loop && ip.IsLoopback()
	}
	if u.Scheme == "http" && !p.AllowHTTP && !loop {
		return callapi.InvalidBecause("url", callapi.ReasonHTTPSRequired, "a target outside loopback must use https")
	}
	return nil
}

func (p Policy) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err == nil && len(addrs) == 0 {
		err = fmt.Errorf("no address")
	}
	return addrs, err
}

// control refuses, at connect time, an address the policy does not allow,
// so that a name re-resolved to a private address after CheckURL (DNS
// rebinding) is still refused.
func (p Policy) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return err
	}
	return p.checkIP(ap.Addr())
}
