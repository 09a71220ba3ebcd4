package run

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/internal/fakeclock"
	"github.com/bedrock-batch/bedrock-batch/shard"
	"github.com/bedrock-batch/bedrock-batch/storage/storagetest"
)

func testDeps(clock *fakeclock.Clock, log *bytes.Buffer) Deps {
	return Deps{Clock: clock, Logger: slog.New(slog.NewTextHandler(log, nil))}.withDefaults()
}

// TestSiblingWatcherTakesUpFinishedShares: every interval the shard reads
// its siblings' manifests; when k of N say complete it paces at 1/(N-k),
// and says so once per change.
func TestSiblingWatcherTakesUpFinishedShares(t *testing.T) {
	clock := fakeclock.New(time.Unix(0, 0))
	var log bytes.Buffer
	deps := testDeps(clock, &log)
	out := storagetest.NewDir()
	own := shard.Shard{Index: 1, Count: 4}
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var shares []float64
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchSiblings(ctx, deps, own, out, func(s float64) { mu.Lock(); shares = append(shares, s); mu.Unlock() })
	}()
	tick := func() {
		for clock.Waiters() == 0 {
			time.Sleep(time.Millisecond) // the watcher is reading; it waits on the clock next
		}
		clock.Advance(deps.SiblingInterval)
	}
	finish := func(i int) {
		name := shard.Shard{Index: i, Count: 4}.ManifestName()
		out.Put(context.Background(), name, []byte(`{"complete": true}`))
	}
	tick() // nothing finished
	finish(0)
	out.Put(context.Background(), shard.Shard{Index: 2, Count: 4}.ManifestName(), []byte(`{"complete": false}`))
	tick()
	tick() // no change: no new share
	finish(2)
	finish(1) // itself: never counted
	tick()
	tick()
	for clock.Waiters() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(shares) != 2 || shares[0] != 1.0/3 || shares[1] != 1.0/2 {
		t.Errorf("shares %v, want [1/3 1/2]", shares)
	}
	if n := strings.Count(log.String(), "taking up their quota share"); n != 2 {
		t.Errorf("said so %d times, want 2:\n%s", n, log.String())
	}
}

// TestSignalsStopThenCancel: the first signal stops taking records; the
// grace period's end cancels the calls in flight. A second signal cancels
// at once.
func TestSignalsStopThenCancel(t *testing.T) {
	for _, second := range []bool{false, true} {
		clock := fakeclock.New(time.Unix(0, 0))
		var log bytes.Buffer
		signals := make(chan os.Signal, 2)
		deps := testDeps(clock, &log)
		deps.Signals = signals
		stop := make(chan struct{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			watchSignals(context.Background(), deps, 10*time.Second, func() { close(stop) }, cancel)
		}()
		signals <- syscall.SIGTERM
		<-stop
		if ctx.Err() != nil {
			t.Fatal("the first signal cancelled the run")
		}
		if second {
			signals <- syscall.SIGINT
		} else {
			for clock.Waiters() == 0 {
				time.Sleep(time.Millisecond)
			}
			clock.Advance(9 * time.Second)
			if ctx.Err() != nil {
				t.Fatal("cancelled before the grace period ended")
			}
			clock.Advance(time.Second)
		}
		<-ctx.Done()
		<-done
		want := "grace period over"
		if second {
			want = "second signal"
		}
		if !strings.Contains(log.String(), want) {
			t.Errorf("log does not say %q:\n%s", want, log.String())
		}
	}
}
