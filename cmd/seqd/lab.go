package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"time"

	"seqd/netcore"
	"seqd/web"
)

// labFlags are seqd serve's flags for the lab port.
type labFlags struct {
	port        int
	addr        string
	maxPerIP    int
	perMinute   int
	maxConns    int
	maxBytes    int
	idleTimeout time.Duration
}

// registerLabFlags adds the lab port's flags to fs.
func registerLabFlags(fs *flag.FlagSet) *labFlags {
	lf := &labFlags{}
	fs.IntVar(&lf.port, "lab-port", 0, "open the lab port: a traced server that any program (nc, the lecture's C client) can\nconnect to, each connection a live session; 0: off")
	fs.StringVar(&lf.addr, "lab-addr", "127.0.0.1", "the IPv4 address the lab port listens on (0.0.0.0: every interface)")
	fs.IntVar(&lf.maxPerIP, "lab-max-conns-per-ip", netcore.DefaultLabMaxConnsPerIP, "lab connections served at once from one client address")
	fs.IntVar(&lf.perMinute, "lab-max-conns-per-minute", netcore.DefaultMaxConnsPerMinute, "lab connections one client address may open in a minute; more are refused before they become sessions")
	fs.IntVar(&lf.maxConns, "lab-max-conns", netcore.DefaultLabMaxConns, "lab connections served at once in all")
	fs.IntVar(&lf.maxBytes, "lab-max-bytes", netcore.DefaultLabMaxBytes, "bytes the lab's server reads on one connection")
	fs.DurationVar(&lf.idleTimeout, "lab-idle-timeout", netcore.DefaultLabIdleTimeout, "how long a lab connection may move no bytes")
	return lf
}

// open opens the lab port when -lab-port asks for it, nil when it does
// not; its sessions go to srv.
func (lf *labFlags) open(runner *netcore.Runner, srv *web.Server) (*netcore.Lab, error) {
	if lf.port == 0 {
		return nil, nil
	}
	if lf.port < 0 || lf.port > 65535 {
		return nil, fmt.Errorf("-lab-port %d: want a port from 1 to 65535, or 0 for no lab port", lf.port)
	}
	ip, _, err := parseIPv4(lf.addr)
	if err != nil {
		return nil, fmt.Errorf("-lab-addr: %w", err)
	}
	lab, err := runner.ListenLab(netcore.LabConfig{
		Addr:              netip.AddrPortFrom(ip, uint16(lf.port)),
		MaxConnsPerIP:     lf.maxPerIP,
		MaxConnsPerMinute: lf.perMinute,
		MaxConns:          lf.maxConns,
		MaxBytes:          lf.maxBytes,
		IdleTimeout:       lf.idleTimeout,
		OnSession:         srv.AddLabSession,
	})
	if err != nil {
		return nil, fmt.Errorf("%w (is another seqd using it? choose another with -lab-port)", err)
	}
	srv.EnableLab(lab.Addr().String())
	return lab, nil
}

// announceLab says where programs connect to the lab port.
func announceLab(stdout io.Writer, lab *netcore.Lab) {
	a := lab.Addr()
	host := a.Addr().String()
	if a.Addr().IsUnspecified() {
		host = "127.0.0.1"
	}
	fmt.Fprintf(stdout, "seqd: lab port %s: connect any program, e.g. nc %s %d, or ./serviceclient %s %d alice bob; GET /api/lab lists the sessions\n",
		a, host, a.Port(), host, a.Port())
}

// parseIPv4 reads an IPv4 address, or localhost (as 127.0.0.1): seqd
// does no DNS. It returns the address and the host as written.
func parseIPv4(host string) (netip.Addr, string, error) {
	if host == "localhost" {
		return netip.AddrFrom4([4]byte{127, 0, 0, 1}), host, nil
	}
	ip, err := netip.ParseAddr(host)
	switch {
	case host == "":
		return netip.Addr{}, host, fmt.Errorf("no address: give an IPv4 address such as 127.0.0.1 (0.0.0.0 for every interface)")
	case err != nil:
		return netip.Addr{}, host, fmt.Errorf("%q: want an IPv4 address such as 127.0.0.1; seqd looks up no names but localhost", host)
	case !ip.Unmap().Is4():
		return netip.Addr{}, host, fmt.Errorf("%s: seqd's traced sockets speak IPv4 only", host)
	}
	return ip.Unmap(), host, nil
}

// parseIPv4Port reads HOST:PORT with an IPv4 host (or localhost); port 0
// is allowed only when zeroOK.
func parseIPv4Port(s string, zeroOK bool) (netip.AddrPort, string, error) {
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, "", fmt.Errorf("%q: want HOST:PORT, such as 127.0.0.1:7000", s)
	}
	ip, host, err := parseIPv4(h)
	if err != nil {
		return netip.AddrPort{}, "", err
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil || port == 0 && !zeroOK {
		return netip.AddrPort{}, "", fmt.Errorf("%q: the port must be a number from 1 to 65535", s)
	}
	return netip.AddrPortFrom(ip, uint16(port)), host, nil
}
