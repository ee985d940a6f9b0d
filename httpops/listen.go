package httpops

import (
	"context"
	"net"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// ListenHosts are the Host header values a server listening on a answers
// a loopback-only surface (such as the emulator's control plane) for: its
// IP and port; for an unspecified IP (0.0.0.0, ::) every interface's; and
// localhost on that port when it listens on loopback. A page on another
// name (DNS rebinding) matches none of them.
func ListenHosts(a net.Addr) []string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return []string{a.String()}
	}
	port := strconv.Itoa(ta.Port)
	ips := []net.IP{ta.IP}
	if ta.IP.IsUnspecified() {
		ips = nil
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, ad := range addrs {
				if n, ok := ad.(*net.IPNet); ok {
					ips = append(ips, n.IP)
				}
			}
		}
	}
	var hosts []string
	loopback := false
	for _, ip := range ips {
		hosts = append(hosts, net.JoinHostPort(ip.String(), port))
		loopback = loopback || ip.IsLoopback()
	}
	if loopback {
		hosts = append(hosts, net.JoinHostPort("localhost", port))
	}
	return hosts
}

// LoopbackAddr is addr with an unspecified host (0.0.0.0, ::) replaced by
// the loopback address, for a server calling itself.
func LoopbackAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return addr.String()
	}
	ip := net.IPv4(127, 0, 0, 1)
	if tcp.IP.To4() == nil {
		ip = net.IPv6loopback
	}
	return (&net.TCPAddr{IP: ip, Port: tcp.Port}).String()
}

// PooledTransport is Go's default transport keeping idle connections per
// host (at least the requests a service sends at once, so that a burst
// reuses connections instead of opening one per call: Go's default keeps
// two), counting the connections it opens on dials (nil: not counted).
func PooledTransport(idle int, dials prometheus.Counter) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = idle
	tr.MaxIdleConnsPerHost = idle
	if dials != nil {
		dial := tr.DialContext
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Inc()
			return dial(ctx, network, addr)
		}
	}
	return tr
}
