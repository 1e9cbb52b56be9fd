// Package metrictest reads the SDK's metrics back in tests: a
// MeterProvider of OpenTelemetry's SDK with a manual reader, and lookups of
// the collected values by name and attributes. Only tests import it, so no
// library package links the OpenTelemetry SDK.
package metrictest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Reader is a MeterProvider whose metrics a test collects on demand.
type Reader struct {
	*sdkmetric.MeterProvider
	reader *sdkmetric.ManualReader
}

// New returns a Reader, shut down when the test ends.
func New(t testing.TB) *Reader {
	t.Helper()
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return &Reader{MeterProvider: mp, reader: r}
}

// Collect returns what has been recorded so far (cumulative).
func (r *Reader) Collect(t testing.TB) Snapshot {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("collecting metrics: %v", err)
	}
	s := Snapshot{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			s[m.Name] = m
		}
	}
	return s
}

// Snapshot holds one collection, by instrument name.
type Snapshot map[string]metricdata.Metrics

// Point is one data point, whatever its kind: Value is a sum's or a
// gauge's value, Count a histogram's count (and Value its sum).
type Point struct {
	Attributes attribute.Set
	Value      float64
	Count      uint64
}

// Points lists name's data points.
func (s Snapshot) Points(name string) []Point {
	var out []Point
	switch d := s[name].Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			out = append(out, Point{Attributes: p.Attributes, Value: float64(p.Value)})
		}
	case metricdata.Sum[float64]:
		for _, p := range d.DataPoints {
			out = append(out, Point{Attributes: p.Attributes, Value: p.Value})
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			out = append(out, Point{Attributes: p.Attributes, Value: float64(p.Value)})
		}
	case metricdata.Gauge[float64]:
		for _, p := range d.DataPoints {
			out = append(out, Point{Attributes: p.Attributes, Value: p.Value})
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			out = append(out, Point{Attributes: p.Attributes, Value: p.Sum, Count: p.Count})
		}
	case metricdata.Histogram[int64]:
		for _, p := range d.DataPoints {
			out = append(out, Point{Attributes: p.Attributes, Value: float64(p.Sum), Count: p.Count})
		}
	}
	return out
}

// matching lists name's points that carry every one of attrs.
func (s Snapshot) matching(name string, attrs []attribute.KeyValue) []Point {
	var out []Point
	for _, p := range s.Points(name) {
		if slices.IndexFunc(attrs, func(kv attribute.KeyValue) bool {
			v, ok := p.Attributes.Value(kv.Key)
			return !ok || v != kv.Value
		}) < 0 {
			out = append(out, p)
		}
	}
	return out
}

// Sum adds the values of name's points that carry attrs: a counter's
// total for those attributes.
func (s Snapshot) Sum(name string, attrs ...attribute.KeyValue) float64 {
	total := 0.0
	for _, p := range s.matching(name, attrs) {
		total += p.Value
	}
	return total
}

// Count adds the counts of a histogram's points that carry attrs.
func (s Snapshot) Count(name string, attrs ...attribute.KeyValue) uint64 {
	var n uint64
	for _, p := range s.matching(name, attrs) {
		n += p.Count
	}
	return n
}

// Gauge returns the value of name's one point carrying attrs, and whether
// there is exactly one.
func (s Snapshot) Gauge(name string, attrs ...attribute.KeyValue) (float64, bool) {
	ps := s.matching(name, attrs)
	if len(ps) != 1 {
		return 0, false
	}
	return ps[0].Value, true
}

// Series lists name's points as "k=v,k=v" attribute strings, sorted, with
// their value (a histogram's count), for comparing a whole metric at once.
func (s Snapshot) Series(name string) map[string]float64 {
	out := map[string]float64{}
	for _, p := range s.Points(name) {
		v := p.Value
		if _, ok := s[name].Data.(metricdata.Histogram[float64]); ok {
			v = float64(p.Count)
		}
		out[Key(p.Attributes)] += v
	}
	return out
}

// Key writes an attribute set as "k=v,k=v", sorted by key.
func Key(set attribute.Set) string {
	var parts []string
	for _, kv := range set.ToSlice() {
		parts = append(parts, fmt.Sprintf("%s=%s", kv.Key, kv.Value.String()))
	}
	return strings.Join(parts, ",")
}

// AttributeValues lists every attribute value of every point, for checks
// that no secret or id reached a metric.
func (s Snapshot) AttributeValues() []string {
	var out []string
	for name := range s {
		for _, p := range s.Points(name) {
			for _, kv := range p.Attributes.ToSlice() {
				out = append(out, kv.Value.String())
			}
		}
	}
	return out
}
