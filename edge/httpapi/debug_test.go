package httpapi

import (
	"bytes"
	"testing"
)

func TestDebugProfilesNeedTheAdminToken(t *testing.T) {
	e := newEnv(t, nil)
	for _, auth := range []string{"", "Bearer wrong", "Basic " + testToken} {
		r := e.do(t, "GET", "/debug/pprof/heap", "", "Authorization", auth)
		if r.StatusCode() != 401 || !bytes.Contains(r.Body(), []byte(`"unauthorized"`)) {
			t.Fatalf("auth %q: %d %s", auth, r.StatusCode(), r.Body())
		}
	}
	r := e.do(t, "GET", "/debug/pprof/heap", "", "Authorization", "Bearer "+testToken)
	if r.StatusCode() != 200 || len(r.Body()) == 0 {
		t.Fatalf("heap profile: %d, %d bytes", r.StatusCode(), len(r.Body()))
	}
	r = e.do(t, "GET", "/debug/pprof/goroutine?debug=1", "", "Authorization", "Bearer "+testToken)
	if r.StatusCode() != 200 || !bytes.Contains(r.Body(), []byte("goroutine profile")) {
		t.Fatalf("goroutine profile: %d %.100s", r.StatusCode(), r.Body())
	}
}
