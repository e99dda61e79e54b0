package result

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/reference/model"
)

// Results write durations as strings time.ParseDuration reads, keys in
// lower camel case, and read back to the same value.
func TestResultJSONRoundTripsWithDurationStrings(t *testing.T) {
	tte := 1500 * time.Millisecond
	xa, xb := model.PodRef{Namespace: "x", Name: "a"}, model.PodRef{Namespace: "x", Name: "b"}
	res := Case{Name: "c", Profile: ProfileCore, Duration: 2 * time.Second, Error: Errorf(ErrorProbe, "agent died"), Steps: []Step{{
		Name: "s", Deadline: 10 * time.Second, TimeToConverge: 250 * time.Millisecond,
		Pods: []model.PodRef{xa, xb}, Ports: []model.PortProtocol{{Port: 80, Protocol: "TCP"}},
		Cells: []Cell{{From: xa, To: xb, PortProtocol: model.PortProtocol{Port: 80, Protocol: "TCP"}, Expected: model.Denied, Observed: agent.Rejected, Match: true, TimeToEnforce: &tte,
			Reasons: []model.Reason{{Direction: "ingress", Clause: model.ClauseIso, Policy: "x/deny", Text: "x/b is isolated"}}}},
	}}}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"duration":"2s"`, `"deadline":"10s"`, `"timeToConverge":"250ms"`, `"timeToEnforce":"1.5s"`, `"ports":[{"port":80,"protocol":"TCP"}]`,
		`"pods":["x/a","x/b"]`, `"from":"x/a","to":"x/b","port":80,"protocol":"TCP"`, `"error":{"kind":"probe","message":"agent died"}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b)
		}
	}
	var back Case
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, res) {
		t.Errorf("round trip changed the result:\n got %+v\nwant %+v", back, res)
	}
}
