package metrics

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// clashingGoMetric is the Go collector's gauge whose name is the family
// name of its counter go_memstats_alloc_bytes_total: OpenMetrics forbids
// two families of one name, so strict parsers refuse the whole exposition.
// Its value is go_memstats_heap_alloc_bytes's, which stays.
const clashingGoMetric = `fqName: "go_memstats_alloc_bytes",`

// goCollector is the Go runtime's collector without clashingGoMetric.
func goCollector() prometheus.Collector {
	return withoutClash{collectors.NewGoCollector()}
}

type withoutClash struct{ prometheus.Collector }

func (c withoutClash) Describe(ch chan<- *prometheus.Desc) {
	all := make(chan *prometheus.Desc)
	go func() {
		c.Collector.Describe(all)
		close(all)
	}()
	for d := range all {
		if !strings.Contains(d.String(), clashingGoMetric) {
			ch <- d
		}
	}
}

func (c withoutClash) Collect(ch chan<- prometheus.Metric) {
	all := make(chan prometheus.Metric)
	go func() {
		c.Collector.Collect(all)
		close(all)
	}()
	for m := range all {
		if !strings.Contains(m.Desc().String(), clashingGoMetric) {
			ch <- m
		}
	}
}
