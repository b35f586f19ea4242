package netcore

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"seqd/trace"
)

// params are a scenario's validated parameters: int values as int and
// strings values as []string.
type params map[string]any

func (p params) int(name string) int          { return p[name].(int) }
func (p params) strings(name string) []string { return p[name].([]string) }

// paceParam is the parameter every scenario takes.
var paceParam = trace.Param{
	Name: "pace_ms", Type: trace.ParamInt, Default: 0, Min: 0, Max: 2000, Unit: "ms",
	Help: "A pause before every call, so a class can watch the exchange unfold. 0 runs at full speed.",
}

// validate checks raw against the declared parameters and returns them with
// defaults filled in. raw values may be what encoding/json decodes (float64,
// json.Number, []any) or Go values (int, []string). The error names the
// parameter.
func validate(decl []trace.Param, raw map[string]any) (params, error) {
	known := make(map[string]bool, len(decl))
	for _, d := range decl {
		known[d.Name] = true
	}
	var unknown []string
	for name := range raw {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		names := make([]string, 0, len(decl))
		for _, d := range decl {
			names = append(names, d.Name)
		}
		return nil, &trace.ParamError{Param: unknown[0], Msg: "unknown parameter; this scenario takes " + strings.Join(names, ", ")}
	}
	out := make(params, len(decl))
	for _, d := range decl {
		v, ok := raw[d.Name]
		if !ok || v == nil {
			v = d.Default
		}
		var err error
		switch d.Type {
		case trace.ParamInt:
			out[d.Name], err = intParam(d, v)
		case trace.ParamStrings:
			out[d.Name], err = stringsParam(d, v)
		default:
			err = fmt.Errorf("has unsupported type %q", d.Type)
		}
		if err != nil {
			return nil, &trace.ParamError{Param: d.Name, Msg: err.Error()}
		}
	}
	return out, nil
}

func intParam(d trace.Param, v any) (int, error) {
	var n int
	switch x := v.(type) {
	case int:
		n = x
	case int64:
		if x < math.MinInt32 || x > math.MaxInt32 {
			return 0, fmt.Errorf("must be between %d and %d", d.Min, d.Max)
		}
		n = int(x)
	case float64:
		if x != math.Trunc(x) || math.IsInf(x, 0) || math.IsNaN(x) {
			return 0, fmt.Errorf("must be a whole number, not %v", x)
		}
		if x < math.MinInt32 || x > math.MaxInt32 {
			return 0, fmt.Errorf("must be between %d and %d", d.Min, d.Max)
		}
		n = int(x)
	case json.Number:
		i, err := x.Int64()
		switch {
		case err == nil:
			return intParam(d, i)
		case strings.Trim(string(x), "-0123456789") == "": // whole, and too large for int64
			return 0, fmt.Errorf("must be between %d and %d, not %s", d.Min, d.Max, trace.Clip(string(x), 24))
		default:
			return 0, fmt.Errorf("must be a whole number, not %s", trace.Clip(string(x), 24))
		}
	default:
		return 0, fmt.Errorf("must be a number, not %s", jsonType(v))
	}
	if n < d.Min || n > d.Max {
		return 0, fmt.Errorf("must be between %d and %d, not %d", d.Min, d.Max, n)
	}
	return n, nil
}

func stringsParam(d trace.Param, v any) ([]string, error) {
	var list []string
	switch x := v.(type) {
	case []string:
		list = slices.Clone(x)
	case []any:
		for i, item := range x {
			s, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("item %d must be a string, not %s", i+1, jsonType(item))
			}
			list = append(list, s)
		}
	default:
		return nil, fmt.Errorf("must be a list of strings, not %s", jsonType(v))
	}
	if len(list) < d.Min || len(list) > d.Max {
		return nil, fmt.Errorf("must have between %d and %d items, not %d", d.Min, d.Max, len(list))
	}
	for i, s := range list {
		switch {
		case s == "":
			return nil, fmt.Errorf("item %d is empty", i+1)
		case len(s) > d.MaxLen:
			return nil, fmt.Errorf("item %d is %d bytes; the most is %d", i+1, len(s), d.MaxLen)
		case !utf8.ValidString(s):
			return nil, fmt.Errorf("item %d is not valid UTF-8", i+1)
		case strings.ContainsAny(s, "\r\n"):
			return nil, fmt.Errorf("item %d contains a line break; each item is sent as one line", i+1)
		}
	}
	return list, nil
}

// jsonType names v's type as a JSON user would.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case float64, json.Number, int, int64:
		return "a number"
	case []any, []string:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
