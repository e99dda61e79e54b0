package images

import "testing"

// TestProbeContainerLeastPrivilege: NET_RAW only when raw SCTP needs it,
// and no_new_privs only where it does not (it would void the file
// capability).
func TestProbeContainerLeastPrivilege(t *testing.T) {
	tests := []struct {
		name          string
		rawSCTP       bool
		wantAdd       int
		wantNoNewPriv bool
	}{
		{"kernel SCTP: no capability at all", false, 0, true},
		{"raw SCTP: NET_RAW and nothing else", true, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ProbeContainer(ProbeImageName, tt.rawSCTP)
			sc := c.SecurityContext
			if sc == nil || sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
				t.Fatalf("security context %+v: want capabilities drop [ALL]", sc)
			}
			if len(sc.Capabilities.Add) != tt.wantAdd || (tt.wantAdd == 1 && sc.Capabilities.Add[0] != "NET_RAW") {
				t.Errorf("capabilities add %v", sc.Capabilities.Add)
			}
			noNewPriv := sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation
			if noNewPriv != tt.wantNoNewPriv {
				t.Errorf("allowPrivilegeEscalation %v, want no_new_privs=%v", sc.AllowPrivilegeEscalation, tt.wantNoNewPriv)
			}
			if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
				t.Errorf("runAsNonRoot not set")
			}
			if len(c.Ports) != 6 || c.Ports[0].Name != "serve-80-tcp" {
				t.Errorf("ports %+v: want serve-80-tcp ... serve-81-sctp", c.Ports)
			}
		})
	}
}
