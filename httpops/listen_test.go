package httpops_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/vitalsync/vitalsync/httpops"
)

func TestListenHosts(t *testing.T) {
	require.Equal(t, []string{"127.0.0.1:8787", "localhost:8787"},
		httpops.ListenHosts(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8787}))
	require.Equal(t, []string{"192.0.2.7:80"}, httpops.ListenHosts(&net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 80}))
	all := httpops.ListenHosts(&net.TCPAddr{IP: net.IPv4zero, Port: 9000})
	require.Contains(t, all, "localhost:9000", "every interface, loopback's among them")
	require.NotContains(t, all, "0.0.0.0:9000")
}

func TestLoopbackAddr(t *testing.T) {
	for _, tc := range []struct {
		addr *net.TCPAddr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4zero, Port: 80}, "127.0.0.1:80"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 80}, "[::1]:80"},
		{&net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 80}, "192.0.2.7:80"},
	} {
		require.Equal(t, tc.want, httpops.LoopbackAddr(tc.addr), "%v", tc.addr)
	}
}

// The pool keeps its connections: sequential requests dial once.
func TestPooledTransportCountsDials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	dials := prometheus.NewCounter(prometheus.CounterOpts{Name: "dials_total", Help: "dials"})
	tr := httpops.PooledTransport(4, dials)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	for range 3 {
		resp, err := hc.Get(srv.URL)
		require.NoError(t, err)
		resp.Body.Close()
	}
	require.Equal(t, 1.0, testutil.ToFloat64(dials))
	require.Equal(t, 4, tr.MaxIdleConnsPerHost)
}
