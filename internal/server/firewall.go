package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"hotline/internal/portmux"
	"hotline/internal/protocol"
	"hotline/internal/relay"
)

// firewall holds the media paths for clients whose network drops UDP
// (docs/ARCHITECTURE.md, "Media through firewalls"): one TCP port that
// carries ICE over TCP, TURN over TCP and TURN over TLS, and optionally a
// dedicated TURN port (UDP and TCP).
type firewall struct {
	cfg     Config
	tcp     *portmux.Mux // the --tcp-port
	turnTCP *portmux.Mux // the --turn-port's TCP side, or nil
	turnUDP net.PacketConn
	relay   *relay.Relay
}

// openFirewallPorts binds the TCP port (and the TURN port, if any) on ip
// (nil: every interface). The relay starts later, once the media socket's
// address is known.
func openFirewallPorts(cfg Config, ip net.IP, log *slog.Logger) (*firewall, error) {
	host := ""
	if ip != nil {
		host = ip.String()
	}
	if cfg.TCPPort < 0 || cfg.TCPPort > 65535 || cfg.TURNPort < 0 || cfg.TURNPort > 65535 {
		return nil, fmt.Errorf("server: TCP port %d or TURN port %d out of range", cfg.TCPPort, cfg.TURNPort)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(cfg.TCPPort)))
	if err != nil {
		return nil, fmt.Errorf("server: media TCP port: %w", err)
	}
	f := &firewall{cfg: cfg, tcp: portmux.New(ln, log)}
	if cfg.TURNPort != 0 {
		tln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(cfg.TURNPort)))
		if err != nil {
			f.close()
			return nil, fmt.Errorf("server: TURN TCP port: %w", err)
		}
		f.turnTCP = portmux.New(tln, log)
		if f.turnUDP, err = net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(cfg.TURNPort))); err != nil {
			f.close()
			return nil, fmt.Errorf("server: TURN UDP port: %w", err)
		}
	}
	return f, nil
}

// iceListener is where the media engine takes ICE-over-TCP connections.
func (f *firewall) iceListener() net.Listener { return f.tcp.Listener(portmux.ICE) }

// startRelay starts the TURN server, relaying to media only. With a
// certificate, TURN over TLS is served too.
func (f *firewall) startRelay(media *net.UDPAddr, log *slog.Logger) error {
	rc := relay.Config{Log: log}
	rc.Media, rc.Announced = mediaAddrs(media, f.cfg.PublicIP)
	var tlsConf *tls.Config
	if f.cfg.TURNCertificate != nil {
		tlsConf = &tls.Config{GetCertificate: f.cfg.TURNCertificate, MinVersion: tls.VersionTLS12}
	}
	// One TURN server per port: Pion's takes one listener per transport.
	muxes := []*portmux.Mux{f.tcp}
	if f.turnTCP != nil {
		muxes = append(muxes, f.turnTCP)
	}
	var tcps, tlss []net.Listener
	for _, m := range muxes {
		tcps = append(tcps, m.Listener(portmux.TURN))
		if tlsConf != nil {
			tlss = append(tlss, tls.NewListener(m.Listener(portmux.TLS), tlsConf))
		}
	}
	rc.TCP, rc.TLS, rc.UDP = tcps, tlss, f.turnUDP
	r, err := relay.Start(rc)
	if err != nil {
		return err
	}
	f.relay = r
	return nil
}

// mediaAddrs is the media socket as the relay reaches it (a concrete IP:
// 127.0.0.1 when the socket listens on every interface, which Go makes a
// dual-stack socket; the relay then serves IPv4) and the other IPs clients
// know it by: the NAT 1:1 address and, on every interface, each
// interface's address.
func mediaAddrs(media *net.UDPAddr, publicIP string) (*net.UDPAddr, []net.IP) {
	var announced []net.IP
	if ip := net.ParseIP(publicIP); ip != nil {
		announced = append(announced, ip)
	}
	if !media.IP.IsUnspecified() {
		return media, announced
	}
	reach := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1).To4(), Port: media.Port}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if in, ok := a.(*net.IPNet); ok {
				announced = append(announced, in.IP)
			}
		}
	}
	return reach, announced
}

// iceServers is one signalling session's relay entry for its welcome.
// reqHost is the Host the client reached the server by.
func (f *firewall) iceServers(listen net.IP, reqHost string) ([]protocol.ICEServer, func()) {
	creds, revoke := f.relay.Issue()
	addr, name := turnHosts(f.cfg.PublicIP, listen, reqHost)
	var urls []string
	for _, port := range f.turnPorts() {
		if addr != "" {
			urls = append(urls, "turn:"+net.JoinHostPort(addr, port)+"?transport=tcp")
		}
		if f.cfg.TURNCertificate != nil && name != "" {
			urls = append(urls, "turns:"+net.JoinHostPort(name, port)+"?transport=tcp")
		}
	}
	if f.turnUDP != nil && addr != "" {
		urls = append(urls, "turn:"+net.JoinHostPort(addr, strconv.Itoa(f.cfg.TURNPort))+"?transport=udp")
	}
	if len(urls) == 0 {
		revoke()
		return nil, func() {}
	}
	return []protocol.ICEServer{{URLs: urls, Username: creds.Username, Credential: creds.Password}}, revoke
}

// turnHosts says how the relay's URLs name the server: turn: by address
// where one is known (the NAT 1:1 address, else the listening address; no
// name resolution on the client), turns: by the name the client reached
// the server by (reqHost, a Host header), which the certificate was
// checked against. Either is "" when there is none fit for a URL.
func turnHosts(publicIP string, listen net.IP, reqHost string) (addr, name string) {
	name, _, err := net.SplitHostPort(reqHost)
	if err != nil {
		name = reqHost
	}
	if !validHostName(name) {
		name = ""
	}
	addr = name
	if ip := net.ParseIP(publicIP); ip != nil {
		addr = ip.String()
	} else if listen != nil && !listen.IsUnspecified() {
		addr = listen.String()
	}
	return addr, name
}

// turnPorts are the TCP ports TURN is served on, dedicated one first.
func (f *firewall) turnPorts() []string {
	var ports []string
	if f.turnTCP != nil {
		ports = append(ports, portOf(f.turnTCP.Addr()))
	}
	return append(ports, portOf(f.tcp.Addr()))
}

func portOf(a net.Addr) string {
	_, port, _ := net.SplitHostPort(a.String())
	return port
}

// validHostName accepts an IP address or a DNS name of letters, digits,
// dots and hyphens: what may go into a TURN URL.
func validHostName(h string) bool {
	if h == "" || len(h) > 200 {
		return false
	}
	if net.ParseIP(h) != nil {
		return true
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// close stops the relay and closes every port.
func (f *firewall) close() error {
	var err error
	if f.relay != nil {
		err = f.relay.Close()
	}
	if f.turnUDP != nil && f.relay == nil {
		err = errors.Join(err, f.turnUDP.Close())
	}
	for _, m := range []*portmux.Mux{f.tcp, f.turnTCP} {
		if m != nil {
			if e := m.Close(); e != nil && !errors.Is(e, net.ErrClosed) {
				err = errors.Join(err, e)
			}
		}
	}
	return err
}
