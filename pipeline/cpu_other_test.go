//go:build !unix

package pipeline_test

import "time"

// processCPU is not read here: the benchmark reports no CPU times.
func processCPU() time.Duration { return 0 }
