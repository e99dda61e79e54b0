package enforcer

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"
)

// testMetric returns the value of one sample line ("name{labels}") from
// /metrics, or "" when absent.
func testMetric(t *testing.T, e *Enforcer, sample string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	e.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, sample+" "); ok {
			return rest
		}
	}
	return ""
}

func TestHealthAndReadinessEndpoints(t *testing.T) {
	e, err := New(fake.NewClientset(), WithNodeName("node-1"))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 503} {
		rec := httptest.NewRecorder()
		e.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != want {
			t.Errorf("%s before any sync = %d, want %d", path, rec.Code, want)
		}
	}
	e.ready.Store(true)
	rec := httptest.NewRecorder()
	e.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != 200 {
		t.Errorf("/readyz when ready = %d", rec.Code)
	}
	if _, err := New(fake.NewClientset()); err == nil {
		t.Error("New without a node name succeeded")
	}
}
