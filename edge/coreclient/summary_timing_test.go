package coreclient_test

import (
	"testing"

	json "github.com/goccy/go-json"

	"shopedge/core/api"
	"shopedge/edge/coreclient"
)

// summaryLines are the benchmarks' inputs: snapshot lines (availability
// spliced in, as the core sends them) of the demo catalog and of
// products generated as for the 1M-product runs.
func summaryLines(b *testing.B) map[string][][]byte {
	b.Helper()
	var demo [][]byte
	for i, line := range coreclient.ReadDemoLines(b) {
		var p api.Product
		if err := json.Unmarshal(line, &p); err != nil {
			b.Fatal(err)
		}
		demo = append(demo, coreclient.SnapshotLine(b, &p, i))
	}
	return map[string][][]byte{"demo": demo, "generated": generatedLines(b, 20000)}
}

// BenchmarkSummaryDecode decodes snapshot lines as summaries with
// summaryScan ("scanner"), and, as its baseline twin, with goccy into a
// reused productSummary ("goccy"), as decodeSummaries did before the
// scanner (issue 3: cold start). One op is one line: ns/op, B/op and
// allocs/op are per line. Both run in one benchmark so that they share
// the (slow) preparation of the lines and can be compared run by run:
//
//	go test -run - -bench SummaryDecode -benchtime 300ms -count 10 ./edge/coreclient/
func BenchmarkSummaryDecode(b *testing.B) {
	sets := summaryLines(b)
	for _, name := range []string{"demo", "generated"} {
		b.Run(name+"/scanner", func(b *testing.B) {
			var d coreclient.SummaryDecoder
			benchmarkLines(b, sets[name], d.Decode)
		})
		b.Run(name+"/goccy", func(b *testing.B) {
			var d coreclient.GoccySummaryDecoder
			benchmarkLines(b, sets[name], d.Decode)
		})
	}
}

func benchmarkLines(b *testing.B, lines [][]byte, decode func([]byte) (*api.Product, error)) {
	size := 0
	for _, l := range lines {
		size += len(l)
	}
	b.SetBytes(int64(size / len(lines)))
	b.ReportAllocs()
	b.ResetTimer()
	sink := 0
	for i := 0; i < b.N; i++ {
		p, err := decode(lines[i%len(lines)])
		if err != nil {
			b.Fatal(err)
		}
		sink += len(p.ID) + len(p.SKUs)
	}
	if sink == 0 {
		b.Fatal("nothing decoded")
	}
}
