package dedupe

import (
	"fmt"
	"sync"
	"testing"
)

func TestRing(t *testing.T) {
	type step struct {
		id   string
		want bool // Add's answer
	}
	for _, tc := range []struct {
		name  string
		size  int
		steps []step
	}{
		{"new ids are new", 3, []step{{"a", true}, {"b", true}, {"c", true}}},
		{"a repeat is not new", 3, []step{{"a", true}, {"a", false}, {"b", true}, {"a", false}}},
		{"the oldest is forgotten when full", 2, []step{{"a", true}, {"b", true}, {"c", true}, {"a", true}, {"c", false}}},
		{"a repeat does not refresh or evict", 2, []step{{"a", true}, {"b", true}, {"a", false}, {"c", true}, {"b", false}, {"a", true}}},
		{"the empty id is never remembered", 2, []step{{"", true}, {"", true}, {"a", true}, {"", true}, {"a", false}}},
		{"size one", 1, []step{{"a", true}, {"a", false}, {"b", true}, {"a", true}}},
		{"size below one acts as one", 0, []step{{"a", true}, {"a", false}, {"b", true}, {"a", true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRing[string](tc.size)
			for i, s := range tc.steps {
				if got := r.Add(s.id); got != s.want {
					t.Fatalf("step %d: Add(%q) = %v, want %v", i, s.id, got, s.want)
				}
				if s.id != "" && !r.Seen(s.id) {
					t.Fatalf("step %d: Seen(%q) = false right after Add", i, s.id)
				}
			}
		})
	}
}

func TestRingSeenDoesNotRemember(t *testing.T) {
	r := NewRing[string](2)
	if r.Seen("a") {
		t.Fatal("Seen(a) on an empty ring")
	}
	if !r.Add("a") {
		t.Fatal("Add(a) after Seen(a) = false; Seen must not remember")
	}
}

func TestRingConcurrent(t *testing.T) {
	r := NewRing[string](64)
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := 0
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 32 {
				if r.Add(fmt.Sprint(i)) {
					mu.Lock()
					fresh++
					mu.Unlock()
				}
				_ = r.Seen(fmt.Sprint(g))
			}
		}()
	}
	wg.Wait()
	if fresh != 32 {
		t.Fatalf("%d ids reported new, want 32 (each once)", fresh)
	}
}
