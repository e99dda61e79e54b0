package runner

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
	res := CaseResult{Name: "c", Duration: 2 * time.Second, Steps: []StepResult{{
		Name: "s", Deadline: 10 * time.Second, TimeToConverge: 250 * time.Millisecond,
		Ports: []model.PortProtocol{{Port: 80, Protocol: "TCP"}},
		Cells: []Cell{{From: "x/a", To: "x/b", Port: 80, Protocol: "TCP", Expected: model.Denied, Observed: agent.Rejected, Match: true, TimeToEnforce: &tte}},
	}}}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"duration":"2s"`, `"deadline":"10s"`, `"timeToConverge":"250ms"`, `"timeToEnforce":"1.5s"`, `"ports":[{"port":80,"protocol":"TCP"}]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b)
		}
	}
	var back CaseResult
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, res) {
		t.Errorf("round trip changed the result:\n got %+v\nwant %+v", back, res)
	}
}
