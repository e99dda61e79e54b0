package model

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestTruthTableNoPoliciesAllowsEverything(t *testing.T) {
	table, err := TruthTable(DefaultTopology(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := table.Len(); got != 486 {
		t.Fatalf("cells = %d, want 486 (9x9 pairs x 6 ports)", got)
	}
	for c := range table.All() {
		if c.Allowed != Allowed {
			t.Fatalf("%s -> %s %s: %s, want allowed", c.From, c.To, c.Port, c.Allowed)
		}
	}
}

func TestTruthTableJSONFormat(t *testing.T) {
	deny := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "y", Name: "deny"}}
	table, err := TruthTable(DefaultTopology(), []*networkingv1.NetworkPolicy{deny}, []PortProtocol{{Port: 80, Protocol: "TCP"}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := table.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cells []map[string]any `json:"cells"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, buf.String())
	}
	if len(doc.Cells) != 81 {
		t.Fatalf("cells = %d, want 81", len(doc.Cells))
	}
	first := doc.Cells[0]
	want := map[string]any{"from": "x/a", "to": "x/a", "port": float64(80), "protocol": "TCP", "ingress": true, "egress": true, "allowed": true}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("first cell %s = %v, want %v", k, first[k], v)
		}
	}
	for _, c := range doc.Cells {
		toY := strings.HasPrefix(c["to"].(string), "y/")
		wantAllowed := !toY || c["from"] == c["to"]
		if c["allowed"] != wantAllowed {
			t.Errorf("%s -> %s allowed = %v, want %v", c["from"], c["to"], c["allowed"], wantAllowed)
		}
	}
}
