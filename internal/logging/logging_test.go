package logging

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
)

func TestLogLevelAndStep(t *testing.T) {
	var buf bytes.Buffer
	log := Config{Level: "warn"}.New(&buf, "core")
	if err := Step(log, "open store", func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Fatalf("info step logged at level warn: %s", buf.String())
	}
	boom := errors.New("boom")
	if err := Step(log, "open store", func() error { return boom }); err != boom {
		t.Fatalf("Step returned %v", err)
	}
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	if line["level"] != "error" || line["step"] != "open store" || line["component"] != "core" || line["error"] != "boom" {
		t.Fatalf("log line = %v", line)
	}
	if _, ok := line["duration_ms"].(float64); !ok {
		t.Fatalf("no duration_ms in %v", line)
	}

	if err := (Config{Level: "verbose"}).Validate(); err == nil || !strings.Contains(err.Error(), "level") {
		t.Fatalf("Validate = %v", err)
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestLoggerRedactsCardNumbers: whatever field carries it, a card number
// logged through a logger of New reaches the output masked.
func TestLoggerRedactsCardNumbers(t *testing.T) {
	var out strings.Builder
	log := DefaultConfig().New(&out, "test")
	log.Warn().Str("slug", "4111-1111-1111-1111").Str("err", "GET /v1/products/5555555555554444: refused").Msg("x 4111 1111 1111 1111")
	log.Info().Int64("seq", 42).Msg("plain")
	got := out.String()
	for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
		if api.ContainsCardNumber([]byte(line)) {
			t.Fatalf("card number logged: %s", line)
		}
	}
	if !strings.Contains(got, `"slug":"****-****-****-****"`) || !strings.Contains(got, `"seq":42`) {
		t.Fatalf("output: %s", got)
	}
}
