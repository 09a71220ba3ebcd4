package pipeline

import (
	"math"
	"sync"
	"time"
)

// latencies is a histogram of call latencies with buckets about 2% wide,
// so percentiles of a million calls cost a few kilobytes, not a sorted
// slice of every call.
type latencies struct {
	mu     sync.Mutex
	counts []int64
	total  int64
}

const latencyGrowth = 1.02

func latencyBucket(d time.Duration) int {
	ms := max(d.Seconds()*1000, 0)
	return int(math.Log1p(ms) / math.Log(latencyGrowth))
}

// bucketUpper is the largest latency that falls into bucket i.
func bucketUpper(i int) time.Duration {
	ms := math.Expm1(float64(i+1) * math.Log(latencyGrowth))
	return time.Duration(ms * float64(time.Millisecond))
}

func (l *latencies) add(d time.Duration) {
	i := latencyBucket(d)
	l.mu.Lock()
	defer l.mu.Unlock()
	if i >= len(l.counts) {
		l.counts = append(l.counts, make([]int64, i+1-len(l.counts))...)
	}
	l.counts[i]++
	l.total++
}

// percentile returns the latency below which a share p (0..1) of the calls
// fall, to within a bucket; 0 when there were no calls.
func (l *latencies) percentile(p float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total == 0 {
		return 0
	}
	rank := int64(math.Ceil(p * float64(l.total)))
	var seen int64
	for i, c := range l.counts {
		seen += c
		if seen >= rank {
			return bucketUpper(i)
		}
	}
	return bucketUpper(len(l.counts) - 1)
}
