package images

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// ProbeContainer is the container spec that runs the probe image with
// least privilege: non-root, read-only root, every capability dropped, and
// NET_RAW added back only when rawSCTP (SCTP over raw sockets on nodes
// whose kernel has no SCTP). The identity comes from the downward API.
func ProbeContainer(image string, rawSCTP bool) corev1.Container {
	sc := &corev1.SecurityContext{
		RunAsNonRoot:           ptr.To(true),
		RunAsUser:              ptr.To[int64](65532),
		RunAsGroup:             ptr.To[int64](65532),
		ReadOnlyRootFilesystem: ptr.To(true),
		Capabilities:           &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		// no_new_privs would make the kernel ignore the binary's file
		// capability, so it is only set where NET_RAW is not needed.
		AllowPrivilegeEscalation: ptr.To(false),
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	if rawSCTP {
		sc.Capabilities.Add = []corev1.Capability{"NET_RAW"}
		sc.AllowPrivilegeEscalation = nil
	}
	var ports []corev1.ContainerPort
	for _, port := range []int32{80, 81} {
		for _, proto := range []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP} {
			ports = append(ports, corev1.ContainerPort{
				Name:          servePortName(port, proto),
				ContainerPort: port,
				Protocol:      proto,
			})
		}
	}
	return corev1.Container{
		Name:            "probe",
		Image:           image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Env: []corev1.EnvVar{
			{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
			{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		},
		Ports:           ports,
		SecurityContext: sc,
	}
}

// ProbePodSecurityContext lets the non-root probe bind ports 80 and 81
// (net.ipv4.ip_unprivileged_port_start is a namespaced, safe sysctl).
func ProbePodSecurityContext() *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{
		Sysctls: []corev1.Sysctl{{Name: "net.ipv4.ip_unprivileged_port_start", Value: "0"}},
	}
}

// servePortName follows the default topology's names: serve-80-tcp.
func servePortName(port int32, proto corev1.Protocol) string {
	p := "tcp"
	switch proto {
	case corev1.ProtocolUDP:
		p = "udp"
	case corev1.ProtocolSCTP:
		p = "sctp"
	}
	return "serve-" + strconv.Itoa(int(port)) + "-" + p
}
