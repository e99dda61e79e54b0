package main

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// parsePort reads a --port value, 80 or 80/TCP, with --protocol as the
// protocol of a bare number (TCP when protocol is empty). A port that names
// its protocol and a --protocol that disagrees is an error.
func parsePort(port, protocol string) (model.PortProtocol, error) {
	pp, err := model.ParsePortProtocol(port)
	if err != nil {
		return pp, fmt.Errorf("--port %q: want N or N/PROTOCOL, e.g. 80 or 80/TCP (%v)", port, err)
	}
	if protocol == "" {
		return pp, nil
	}
	proto, err := model.ParseProtocol(protocol)
	if err != nil {
		return pp, fmt.Errorf("--protocol %q: want TCP, UDP or SCTP", protocol)
	}
	if strings.Contains(port, "/") {
		if proto != pp.Protocol {
			return pp, fmt.Errorf("--port %s and --protocol %s disagree: give the protocol once", port, protocol)
		}
		return pp, nil
	}
	pp.Protocol = proto
	return pp, nil
}

// parseProtocolFlag reads --protocol, empty when unset.
func parseProtocolFlag(protocol string) (corev1.Protocol, error) {
	if protocol == "" {
		return "", nil
	}
	p, err := model.ParseProtocol(protocol)
	if err != nil {
		return "", fmt.Errorf("--protocol %q: want TCP, UDP or SCTP", protocol)
	}
	return p, nil
}
