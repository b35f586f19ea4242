package netcore

import (
	"embed"
	"io/fs"
	"strings"
	"sync"

	"seqd/trace"
)

// listings holds the C programs the scenarios perform, one directory per
// scenario with client.c and server.c. They are real C that compiles (a
// test builds them with cc -Wall -Werror) and, run by hand, do what the
// scenario does; every traced call names its line in them.
//
//go:embed listings
var listings embed.FS

// listing is one C program, split into lines.
type listing struct {
	file  string
	lines []string

	// mu guards found, a cache of find's answers.
	mu    sync.Mutex
	found map[string]int
}

// find returns the 1-based number of the first line that contains every
// needle, or 0 when none does.
func (l *listing) find(needles ...string) int {
	key := strings.Join(needles, "\x00")
	l.mu.Lock()
	defer l.mu.Unlock()
	if n, ok := l.found[key]; ok {
		return n
	}
	n := 0
	for i, line := range l.lines {
		if code, _, _ := strings.Cut(line, "//"); containsAll(code, needles) {
			n = i + 1
			break
		}
	}
	if l.found == nil {
		l.found = map[string]int{}
	}
	l.found[key] = n
	return n
}

func containsAll(s string, needles []string) bool {
	for _, n := range needles {
		if !strings.Contains(s, n) {
			return false
		}
	}
	return true
}

// programs are the listings of one scenario by file name.
type programs map[string]*listing

var (
	programsOnce sync.Once
	allPrograms  map[string]programs // by scenario
)

// programsOf returns the listings of a scenario.
func programsOf(scenario string) programs {
	programsOnce.Do(func() {
		allPrograms = map[string]programs{}
		dirs, _ := fs.ReadDir(listings, "listings")
		for _, d := range dirs {
			ps := programs{}
			for _, file := range []string{"client.c", "server.c"} {
				b, err := fs.ReadFile(listings, "listings/"+d.Name()+"/"+file)
				if err == nil {
					ps[file] = &listing{file: file, lines: strings.Split(string(b), "\n")}
				}
			}
			allPrograms[d.Name()] = ps
		}
	})
	return allPrograms[scenario]
}

// programFile is the file of an actor's program: the server runs
// server.c, every client (client, client-2, …) client.c.
func programFile(actor string) string {
	if actor == "server" {
		return "server.c"
	}
	return "client.c"
}

// Sources returns the C programs of a scenario, for the code pane.
func (r *Runner) Sources(scenario string) []trace.Source {
	ps := programsOf(scenario)
	var out []trace.Source
	for _, file := range []string{"server.c", "client.c"} {
		if l, ok := ps[file]; ok {
			out = append(out, trace.Source{File: file, Text: strings.Join(l.lines, "\n")})
		}
	}
	return out
}

// cName is the C function a kind of call is made with in the listings.
var cName = map[trace.Kind]string{
	trace.KindGetaddrinfo: "getaddrinfo(",
	trace.KindSocket:      "socket(",
	trace.KindSetsockopt:  "setsockopt(",
	trace.KindBind:        "bind(",
	trace.KindListen:      "listen(",
	trace.KindConnect:     "connect(",
	trace.KindAccept:      "accept(",
	trace.KindSend:        "write(",
	trace.KindRecv:        "read(",
	trace.KindShutdown:    "shutdown(",
	trace.KindClose:       "close(",
}

// sourceLine fills e.Src and e.Line: the line of the actor's program that
// makes this call. cvar is the C variable holding the socket ("fd", "cfd");
// hint, when set, tells apart two calls of one function on one socket.
func (ex *exchange) sourceLine(e *trace.Event, cvar, hint string) {
	ps := programsOf(ex.sess.Scenario())
	l, ok := ps[programFile(e.Actor)]
	if !ok {
		return
	}
	call := cName[e.Kind]
	var needles []string
	switch e.Kind {
	case trace.KindGetaddrinfo:
		needles = []string{call}
	case trace.KindSocket:
		needles = []string{cvar + " = " + call}
	case trace.KindSetsockopt:
		needles = []string{call + cvar + ",", e.Option}
	case trace.KindClose, trace.KindShutdown:
		needles = []string{call + cvar}
	default:
		needles = []string{call + cvar + ","}
	}
	if hint != "" {
		needles = append(needles, hint)
	}
	e.Src, e.Line = l.file, l.find(needles...)
}
