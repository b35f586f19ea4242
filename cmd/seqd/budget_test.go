package main

import (
	"os"
	"path/filepath"
	"testing"

	"seqd/netcore"
	"seqd/web"
)

func TestMemoryFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	meminfo := write("meminfo", "MemTotal:        8000000 kB\nMemFree:         100 kB\n")
	cases := []struct {
		name string
		got  int64
		want int64
	}{
		{"meminfo's MemTotal is read in bytes", memTotal(meminfo), 8000000 << 10},
		{"a meminfo without MemTotal gives 0", memTotal(write("nototal", "MemFree: 1 kB\n")), 0},
		{"a missing meminfo gives 0", memTotal(filepath.Join(dir, "none")), 0},
		{"a cgroup limit is read in bytes", cgroupLimit(write("max", "536870912\n")), 536870912},
		{"a cgroup without a limit gives 0", cgroupLimit(write("unlimited", "max\n")), 0},
		{"a missing cgroup file gives 0", cgroupLimit(filepath.Join(dir, "none")), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("got %d; want %d", c.got, c.want)
			}
		})
	}
	t.Run("the default budget is at least 256 MiB and at most half the machine", func(t *testing.T) {
		got := defaultMemoryLimit()
		if total := memTotal("/proc/meminfo"); total > 0 && got > total/2 {
			t.Errorf("defaultMemoryLimit() = %d; want at most half of MemTotal %d", got, total)
		}
		if got < 256<<20 {
			t.Errorf("defaultMemoryLimit() = %d; want at least 256 MiB", got)
		}
	})
}

func TestFDBudget(t *testing.T) {
	def := web.DefaultLimits
	cases := []struct {
		name   string
		nofile uint64
		want   int
	}{
		{"20,000 descriptors leave room for what the viewers and downloads do not take", 20_000, (20_000 - def.MaxSubscribers - def.MaxDownloads - 1024) / netcore.MaxSessionFDs},
		{"a limit too small for the viewers still leaves one session", 4096, 1},
		{"an unlimited process is not bounded by descriptors", 1 << 40, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := fdBudget(c.nofile, def); got != c.want {
				t.Errorf("fdBudget(%d) = %d; want %d", c.nofile, got, c.want)
			}
		})
	}
}
