package model

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestPodServesDefaultsProtocolToTCP: a container port without a protocol
// is TCP, as the API server would default it.
func TestPodServesDefaultsProtocolToTCP(t *testing.T) {
	p := Pod{Ports: []ContainerPort{{Port: 80}, {Port: 81, Protocol: corev1.ProtocolUDP}}}
	for _, tc := range []struct {
		pp   PortProtocol
		want bool
	}{
		{PortProtocol{80, corev1.ProtocolTCP}, true},
		{PortProtocol{80, corev1.ProtocolUDP}, false},
		{PortProtocol{81, corev1.ProtocolUDP}, true},
		{PortProtocol{81, corev1.ProtocolTCP}, false},
		{PortProtocol{82, corev1.ProtocolTCP}, false},
	} {
		if got := p.Serves(tc.pp); got != tc.want {
			t.Errorf("Serves(%s) = %v, want %v", tc.pp, got, tc.want)
		}
	}
}
