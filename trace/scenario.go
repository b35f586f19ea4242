package trace

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// ScenarioInfo describes a scenario a runner can perform: what the page shows
// on its button and the parameters its form asks for.
type ScenarioInfo struct {
	Name    string   `json:"name"`
	Title   string   `json:"title"`
	Summary string   `json:"summary"`
	Params  []Param  `json:"params"`
	Sources []Source `json:"sources,omitempty"` // the C programs it performs
}

// Source is one C program of a scenario: events name its lines by Src and
// Line.
type Source struct {
	File string `json:"file"` // "server.c" or "client.c"
	Text string `json:"text"`
}

// ParamType is the JSON type a parameter takes.
type ParamType string

// The types of parameter.
const (
	ParamInt     ParamType = "int"     // a JSON integer within [Min, Max]
	ParamStrings ParamType = "strings" // a JSON array of strings
)

// Param describes one typed parameter of a scenario with its limits.
type Param struct {
	Name    string    `json:"name"`
	Type    ParamType `json:"type"`
	Default any       `json:"default"`
	Min     int       `json:"min"`               // int: smallest value; strings: fewest items
	Max     int       `json:"max"`               // int: largest value; strings: most items
	MaxLen  int       `json:"max_len,omitempty"` // strings: longest item in bytes
	Unit    string    `json:"unit,omitempty"`
	Help    string    `json:"help"`
}

// ErrUnknownScenario is returned for a scenario name no runner knows.
var ErrUnknownScenario = errors.New("unknown scenario")

// ParamError says which parameter was wrong and why. Callers show it to the
// person who sent it.
type ParamError struct {
	Param string
	Msg   string
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("parameter %q: %s", Clip(e.Param, 64), e.Msg)
}

// Clip cuts s to at most n bytes, at a character's start, and marks the cut
// with "…": a visitor's value quoted back in an error, which must say what
// was wrong without sending a 60 KB name back whole.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
