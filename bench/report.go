package bench

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	json "github.com/goccy/go-json"
)

// Report is the result of one bench invocation: the baseline measured in
// it, every scenario run with its ratio to that baseline, and scenario
// facts (RSS, cold start, oversell…).
type Report struct {
	Scenario string             `json:"scenario"`
	Started  time.Time          `json:"started"`
	Options  Options            `json:"options"`
	Host     HostInfo           `json:"host"`
	Baseline *Summary           `json:"baseline,omitempty"`
	Runs     []RunResult        `json:"runs"`
	Facts    map[string]float64 `json:"facts,omitempty"`
	Notes    []string           `json:"notes,omitempty"`
}

// HostInfo describes the machine a report was measured on.
type HostInfo struct {
	GoVersion string `json:"go_version"`
	CPUs      int    `json:"cpus"`
	OS        string `json:"os"`
}

// RunResult is one measured run of a report.
type RunResult struct {
	Name    string   `json:"name"`
	Target  string   `json:"target"`
	Summary *Summary `json:"summary"`
	Ratio   *Ratio   `json:"ratio_to_baseline,omitempty"`
}

// NewReport starts a report for scenario run with o.
func NewReport(scenario string, o Options) *Report {
	return &Report{
		Scenario: scenario, Started: time.Now().UTC(), Options: o,
		Host:  HostInfo{GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH},
		Facts: map[string]float64{},
	}
}

// Add records a run; when the report has a baseline the run gets its ratio.
func (r *Report) Add(name, target string, s *Summary) {
	rr := RunResult{Name: name, Target: target, Summary: s}
	if r.Baseline != nil {
		ratio := s.RatioTo(r.Baseline)
		rr.Ratio = &ratio
	}
	r.Runs = append(r.Runs, rr)
}

// Fact records a named number (e.g. "edge_rss_mb").
func (r *Report) Fact(name string, v float64) { r.Facts[name] = v }

// Note records a line of free text shown under the table.
func (r *Report) Note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// Markdown renders the report as a Markdown table of runs, then the facts
// and notes.
func (r *Report) Markdown() string {
	var b strings.Builder
	mode := fmt.Sprintf("closed loop, %d workers", r.Options.Concurrency)
	if r.Options.Rate > 0 {
		mode = fmt.Sprintf("open loop at %.0f req/s, %d workers", r.Options.Rate, r.Options.Concurrency)
	}
	fmt.Fprintf(&b, "### bench %s — %s, %s, %s, %d CPUs, %s\n\n", r.Scenario,
		r.Started.Format(time.RFC3339), mode, r.Options.Duration, r.Host.CPUs, r.Host.GoVersion)
	b.WriteString("| run | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | body B | errors | req/s ÷ base | p99 ÷ base |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|\n")
	row := func(name string, s *Summary, ratio *Ratio) {
		rr, rp := "", ""
		if ratio != nil {
			rr, rp = fmt.Sprintf("%.3f", ratio.RPS), fmt.Sprintf("%.2f", ratio.P99)
		}
		fmt.Fprintf(&b, "| %s | %.0f | %.3f | %.3f | %.3f | %.3f | %.3f | %.0f | %s | %s | %s |\n", name, s.RPS,
			s.P50Ms, s.P90Ms, s.P99Ms, s.P999Ms, s.MaxMs, s.BodyBytes, errorsCell(s), rr, rp)
	}
	if r.Baseline != nil {
		row("baseline (bare fasthttp, 2 KB)", r.Baseline, nil)
	}
	for _, rr := range r.Runs {
		row(rr.Name, rr.Summary, rr.Ratio)
	}
	if len(r.Facts) > 0 {
		b.WriteString("\n| fact | value |\n|---|---:|\n")
		names := make([]string, 0, len(r.Facts))
		for k := range r.Facts {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			fmt.Fprintf(&b, "| %s | %s |\n", k, formatFact(r.Facts[k]))
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n- %s", n)
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n")
	}
	return b.String()
}

func errorsCell(s *Summary) string {
	if len(s.Errors) == 0 {
		return "0"
	}
	parts := make([]string, 0, len(s.Errors))
	for _, k := range s.ErrorKinds() {
		parts = append(parts, fmt.Sprintf("%s: %d", k, s.Errors[k]))
	}
	return strings.Join(parts, ", ")
}

// WriteJSON writes the report as indented JSON to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("cannot encode report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("cannot write report: %w", err)
	}
	return nil
}

// Save writes <dir>/<scenario>-<time>.json and .md and returns their paths.
func (r *Report) Save(dir string) (string, string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("cannot create results dir: %w", err)
	}
	base := filepath.Join(dir, r.Scenario+"-"+r.Started.Format("20060102-150405"))
	if err := r.WriteJSON(base + ".json"); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(base+".md", []byte(r.Markdown()), 0o644); err != nil {
		return "", "", fmt.Errorf("cannot write report: %w", err)
	}
	return base + ".json", base + ".md", nil
}

// formatFact prints whole numbers in full and others to 6 digits.
func formatFact(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}
