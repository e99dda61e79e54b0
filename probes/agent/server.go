package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Server answers probes with its identity on every configured port and
// protocol. Listen opens every socket before returning, so a Server that
// exists is ready.
type Server struct {
	identity  string
	ports     []int
	protocols []string
	sctpMode  SCTPMode
	// sctpAbortUnserved: the raw SCTP server ABORTs INITs to ports it does
	// not serve, as a kernel SCTP stack would.
	sctpAbortUnserved bool

	tcp  []net.Listener
	udp  []net.PacketConn
	sctp sctpListener

	closeOnce sync.Once
	wg        sync.WaitGroup
}

// sctpListener is the SCTP side of a Server: kernel sockets or the raw
// endpoint.
type sctpListener interface {
	serve(identity []byte)
	Close() error
}

// ServeOption changes how Listen sets a Server up.
type ServeOption func(*Server)

// WithServeSCTPMode forces kernel or raw SCTP instead of detecting it.
func WithServeSCTPMode(mode SCTPMode) ServeOption {
	return func(s *Server) { s.sctpMode = mode }
}

// WithoutSCTPAbort stops a raw SCTP server from answering INITs to ports
// it does not serve. Use it when several probe servers share one network
// namespace (hostNetwork pods): each one's raw socket sees every INIT, and
// would otherwise ABORT the others' ports.
func WithoutSCTPAbort() ServeOption {
	return func(s *Server) { s.sctpAbortUnserved = false }
}

// Listen opens every port for every protocol (TCP, UDP, SCTP; any case) on
// all addresses. identity is what the server answers with (namespace/pod).
// Raw SCTP needs CAP_NET_RAW; without it Listen fails and says so.
func Listen(identity string, ports []int, protocols []string, opts ...ServeOption) (*Server, error) {
	if identity == "" || strings.ContainsAny(identity, "\n\r") {
		return nil, fmt.Errorf("identity %q: want one non-empty line such as namespace/pod", identity)
	}
	if len(ports) == 0 {
		return nil, errors.New("no ports to serve")
	}
	for _, p := range ports {
		if p < 1 || p > 65535 {
			return nil, fmt.Errorf("port %d out of range 1-65535", p)
		}
	}
	s := &Server{identity: identity, ports: dedupPorts(ports), sctpMode: SCTPAuto, sctpAbortUnserved: true}
	for _, o := range opts {
		o(s)
	}
	seen := map[string]bool{}
	for _, p := range protocols {
		proto, err := normalizeProtocol(p)
		if err != nil {
			return nil, err
		}
		if !seen[proto] {
			seen[proto] = true
			s.protocols = append(s.protocols, proto)
		}
	}
	if len(s.protocols) == 0 {
		return nil, errors.New("no protocols to serve")
	}
	if err := s.open(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) open() error {
	for _, proto := range s.protocols {
		switch proto {
		case TCP:
			for _, port := range s.ports {
				ln, err := net.Listen("tcp", ":"+strconv.Itoa(port))
				if err != nil {
					return fmt.Errorf("serve TCP port %d: %w", port, err)
				}
				s.tcp = append(s.tcp, ln)
			}
		case UDP:
			for _, port := range s.ports {
				conn, err := net.ListenPacket("udp", ":"+strconv.Itoa(port))
				if err != nil {
					return fmt.Errorf("serve UDP port %d: %w", port, err)
				}
				s.udp = append(s.udp, conn)
			}
		case SCTP:
			mode, err := resolveSCTPMode(s.sctpMode)
			if err != nil {
				return fmt.Errorf("serve SCTP: %w", err)
			}
			s.sctpMode = mode
			if mode == SCTPKernel {
				s.sctp, err = listenKernelSCTP(s.ports)
			} else {
				s.sctp, err = listenRawSCTP(s.ports, s.sctpAbortUnserved)
			}
			if err != nil {
				return fmt.Errorf("serve SCTP (%s sockets): %w", mode, err)
			}
		}
	}
	return nil
}

// Serve answers probes until ctx ends, then closes every socket.
func (s *Server) Serve(ctx context.Context) error {
	identity := []byte(s.identity + "\n")
	for _, ln := range s.tcp {
		s.wg.Go(func() { serveTCP(ln, identity) })
	}
	for _, conn := range s.udp {
		s.wg.Go(func() { serveUDP(conn, identity) })
	}
	if s.sctp != nil {
		s.wg.Go(func() { s.sctp.serve([]byte(s.identity)) })
	}
	<-ctx.Done()
	s.Close()
	s.wg.Wait()
	return nil
}

// Close stops the server; it is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		for _, ln := range s.tcp {
			ln.Close()
		}
		for _, conn := range s.udp {
			conn.Close()
		}
		if s.sctp != nil {
			s.sctp.Close()
		}
	})
	return nil
}

// ReadyLine is the line `probe serve` prints on stdout once every socket is
// open, e.g. "ready identity=x/a ports=80,81 protocols=TCP,UDP,SCTP sctp=raw".
func (s *Server) ReadyLine() string {
	ports := make([]string, len(s.ports))
	for i, p := range s.ports {
		ports[i] = strconv.Itoa(p)
	}
	line := fmt.Sprintf("ready identity=%s ports=%s protocols=%s", s.identity,
		strings.Join(ports, ","), strings.Join(s.protocols, ","))
	if s.sctp != nil {
		line += " sctp=" + string(s.sctpMode)
	}
	return line
}

func dedupPorts(ports []int) []int {
	out := append([]int(nil), ports...)
	sort.Ints(out)
	uniq := out[:0]
	for i, p := range out {
		if i == 0 || p != out[i-1] {
			uniq = append(uniq, p)
		}
	}
	return uniq
}
