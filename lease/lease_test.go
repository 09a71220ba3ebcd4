package lease

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bedrock-batch/bedrock-batch/internal/fakeclock"
	"github.com/bedrock-batch/bedrock-batch/storage"
	"github.com/bedrock-batch/bedrock-batch/storage/storagetest"
)

const name = "_lease.json"

func holder(run string) Holder {
	return Holder{Host: "host-" + run, PID: 100, RunID: run, StartedAt: time.Unix(1000, 0).UTC()}
}

func alive(Holder) bool { return true }

func opts(clock *fakeclock.Clock) Options {
	return Options{Clock: clock, Interval: 10 * time.Second, Alive: alive}
}

func acquire(t *testing.T, dir storage.Dir, run string, o Options) *Lease {
	t.Helper()
	l, err := Acquire(context.Background(), dir, name, holder(run), o)
	if err != nil {
		t.Fatalf("%s: %v", run, err)
	}
	return l
}

// TestASecondRunIsRefused: a held lease refuses the next run with what it
// needs to know: who holds it, and when it last renewed it.
func TestASecondRunIsRefused(t *testing.T) {
	clock := fakeclock.New(time.Unix(2000, 0))
	dir := storagetest.NewDir()
	first := acquire(t, dir, "first", opts(clock))
	clock.Advance(4 * time.Second)
	_, err := Acquire(context.Background(), dir, name, holder("second"), opts(clock))
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("second Acquire: %v, want a *HeldError", err)
	}
	if held.Holder.RunID != "first" || held.Since != 4*time.Second {
		t.Errorf("HeldError names %+v renewed %s ago", held.Holder, held.Since)
	}
	for _, want := range []string{"host-first", "pid 100", "run first", "4s ago", "mem://_lease.json"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
	if err := first.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	acquire(t, dir, "third", opts(clock)) // free again
}

// TestAStaleLeaseIsTakenOver: a lease not renewed for three intervals, or
// whose holder's process is gone, is taken over, and the old holder
// learns it lost it at its next renewal.
func TestAStaleLeaseIsTakenOver(t *testing.T) {
	for _, tt := range []struct {
		name    string
		wait    time.Duration
		holding func(Holder) bool
	}{
		{"not renewed for three intervals", 30 * time.Second, alive},
		{"its process is gone", time.Second, func(h Holder) bool { return h.RunID != "first" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := fakeclock.New(time.Unix(2000, 0))
			dir := storagetest.NewDir()
			first := acquire(t, dir, "first", opts(clock))
			clock.Advance(tt.wait - time.Nanosecond)
			o := opts(clock)
			o.Alive = tt.holding
			if tt.holding(holder("first")) {
				if _, err := Acquire(context.Background(), dir, name, holder("second"), o); err == nil {
					t.Fatal("a lease renewed less than three intervals ago was taken over")
				}
			}
			clock.Advance(time.Nanosecond)
			second := acquire(t, dir, "second", o)
			if from := second.TookOver(); from == nil || from.RunID != "first" {
				t.Errorf("TookOver = %+v, want the first run", from)
			}
			if err := first.Renew(context.Background()); !errors.Is(err, ErrLost) {
				t.Errorf("the old holder's renewal: %v, want ErrLost", err)
			}
			if err := first.Release(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := second.Renew(context.Background()); err != nil {
				t.Errorf("the old holder's Release removed the new holder's lease: %v", err)
			}
		})
	}
}

// TestWaitTakesTheLeaseOnceReleased: with Wait, a second run waits while
// the first holds the lease and renews it, and takes it once released.
func TestWaitTakesTheLeaseOnceReleased(t *testing.T) {
	clock := fakeclock.New(time.Unix(2000, 0))
	dir := storagetest.NewDir()
	first := acquire(t, dir, "first", opts(clock))
	o := opts(clock)
	o.Wait, o.Poll = true, 2*time.Second
	got := make(chan error, 1)
	go func() {
		_, err := Acquire(context.Background(), dir, name, holder("second"), o)
		got <- err
	}()
	for range 20 { // 40 s of waiting, the first renewing every 10 s
		for clock.Waiters() == 0 {
			time.Sleep(time.Millisecond)
		}
		clock.Advance(2 * time.Second)
		if clock.Now().Unix()%10 == 0 {
			if err := first.Renew(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case err := <-got:
			t.Fatalf("the waiting run returned while the lease was held: %v", err)
		default:
		}
	}
	if err := first.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	// It may look again before or after the release: move the clock until
	// it has the lease.
	for acquired := false; !acquired; {
		select {
		case err := <-got:
			if err != nil {
				t.Fatalf("the waiting run: %v", err)
			}
			acquired = true
		default:
			if clock.Waiters() > 0 {
				clock.Advance(2 * time.Second)
			}
			time.Sleep(time.Millisecond)
		}
	}
	var h Holder
	data, _ := dir.Get(context.Background(), name)
	if json.Unmarshal(data, &h); h.RunID != "second" {
		t.Errorf("the lease holds %s", data)
	}
}

// TestKeepStopsAtALostLease: Keep renews every interval; a renewal that
// finds the lease changed loses it at once, and renewals that keep
// failing lose it before another run may think it stale.
func TestKeepStopsAtALostLease(t *testing.T) {
	for _, tt := range []struct {
		name    string
		breakIt func(dir *storagetest.Dir)
		lostAt  time.Duration // the renewal at which it is lost: before others may take it over
	}{
		{"taken over", func(dir *storagetest.Dir) { dir.Put(context.Background(), name, []byte(`{"run_id":"thief"}`)) }, 10 * time.Second},
		{"renewals fail", func(dir *storagetest.Dir) {
			dir.Fail = func(op, _ string) error {
				if op == "replace" {
					return errors.New("503 Slow Down")
				}
				return nil
			}
		}, 20 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := fakeclock.New(time.Unix(2000, 0))
			dir := storagetest.NewDir()
			l := acquire(t, dir, "first", opts(clock))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var mu sync.Mutex
			var lostErr error
			var lostAt time.Duration
			done := make(chan struct{})
			start := clock.Now()
			go func() {
				defer close(done)
				l.Keep(ctx, func(err error) {
					mu.Lock()
					lostErr, lostAt = err, clock.Now().Sub(start)
					mu.Unlock()
				})
			}()
			tt.breakIt(dir)
			for clock.Next(done) {
			}
			<-done
			mu.Lock()
			defer mu.Unlock()
			if !errors.Is(lostErr, ErrLost) || lostAt != tt.lostAt {
				t.Errorf("lost at %s with %v; want ErrLost at %s", lostAt, lostErr, tt.lostAt)
			}
		})
	}
}

// TestProcessAlive: this host's holders are judged by their pid.
func TestProcessAlive(t *testing.T) {
	host, _ := os.Hostname()
	for _, tt := range []struct {
		h    Holder
		want bool
	}{
		{Holder{Host: host, PID: os.Getppid()}, true},
		{Holder{Host: host, PID: os.Getpid()}, false}, // a restarted container's earlier self
		{Holder{Host: host, PID: 1 << 30}, false},
		{Holder{Host: "elsewhere", PID: 1 << 30}, true},
	} {
		if got := ProcessAlive(tt.h); got != tt.want {
			t.Errorf("ProcessAlive(%+v) = %v, want %v", tt.h, got, tt.want)
		}
	}
}
