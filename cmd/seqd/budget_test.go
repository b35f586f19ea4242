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
	t.Run("the default budget is half the machine, or 1 GiB where it cannot be read", func(t *testing.T) {
		got := defaultMemoryLimit()
		if total := memTotal("/proc/meminfo"); total > 0 && got > total/2 {
			t.Errorf("defaultMemoryLimit() = %d; want at most half of MemTotal %d", got, total)
		} else if total == 0 && got != 1<<30 {
			t.Errorf("defaultMemoryLimit() = %d with no meminfo; want 1 GiB", got)
		}
	})
}

func TestFitDescriptors(t *testing.T) {
	def := web.DefaultLimits
	cases := []struct {
		name                                 string
		nofile                               uint64
		running, stepped, viewers, downloads int
	}{
		{"20,000 descriptors hold the viewers and downloads, and sessions in what is left", 20_000, 144, 48, def.MaxSubscribers, def.MaxDownloads},
		{"4,096 descriptors lower the viewers and downloads too, keeping room for sessions", 4096, 34, 11, 768, 192},
		{"an unlimited process keeps its limits", 1 << 40, def.MaxRunning, def.MaxStepped, def.MaxSubscribers, def.MaxDownloads},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _ := fitDescriptorsTo(c.nofile, def)
			if got.MaxRunning != c.running || got.MaxStepped != c.stepped || got.MaxSubscribers != c.viewers || got.MaxDownloads != c.downloads {
				t.Errorf("fitDescriptorsTo(%d): running %d, stepped %d, viewers %d, downloads %d; want %d, %d, %d, %d",
					c.nofile, got.MaxRunning, got.MaxStepped, got.MaxSubscribers, got.MaxDownloads, c.running, c.stepped, c.viewers, c.downloads)
			}
			fds := int64(got.MaxSubscribers) + int64(got.MaxDownloads) + int64(got.MaxRunning+got.MaxStepped)*netcore.MaxSessionFDs
			if c.nofile < 1<<30 && fds > int64(c.nofile) {
				t.Errorf("fitDescriptorsTo(%d) allows %d descriptors' worth", c.nofile, fds)
			}
		})
	}
}
