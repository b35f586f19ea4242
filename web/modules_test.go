package web_test

import (
	"bytes"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"

	"seqd/web"
)

// The front end's module tree (web/static): seq-diagram.js is the stable
// URL, sd/ the element, ui/ its DOM controllers, core/ pure code that node
// can import. Imports run one way, element → ui → core.

// maxModuleLines is the most lines a file under web/static may have.
const maxModuleLines = 800

// importLine matches the module specifier of a static import or re-export.
var importLine = regexp.MustCompile(`(?m)^\s*(?:import|export)\s[^'"]*?\bfrom\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]`)

// moduleLayer is the layer of a module by its path under web/static:
// "entry" (seq-diagram.js), "sd", "ui", "core", or "page" (app.js,
// embed.js: the pages' own scripts).
func moduleLayer(name string) string {
	switch {
	case name == "seq-diagram.js":
		return "entry"
	case strings.HasPrefix(name, "sd/"):
		return "sd"
	case strings.HasPrefix(name, "ui/"):
		return "ui"
	case strings.HasPrefix(name, "core/"):
		return "core"
	}
	return "page"
}

// mayImport says which layers a layer's modules may import.
var mayImport = map[string][]string{
	"entry": {"sd", "ui", "core"},
	"page":  {"entry", "core"},
	"sd":    {"sd", "ui", "core"},
	"ui":    {"core"},
	"core":  {"core"},
}

// staticModules returns every .js file under web/static by its path there.
func staticModules(tb testing.TB) map[string]string {
	tb.Helper()
	mods := map[string]string{}
	root := os.DirFS("static")
	err := fs.WalkDir(root, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(name, ".js") {
			return err
		}
		b, err := fs.ReadFile(root, name)
		mods[name] = string(b)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return mods
}

// elementModules returns the element's module tree as a course page would
// copy it (seq-diagram.js and the folders it imports), by URL path.
func elementModules(tb testing.TB) map[string]string {
	tb.Helper()
	files := map[string]string{}
	for name, text := range staticModules(tb) {
		if moduleLayer(name) != "page" {
			files["/"+name] = text
		}
	}
	return files
}

func TestModuleImportsRunElementToUIToCore(t *testing.T) {
	mods := staticModules(t)
	if len(mods) < 10 {
		t.Fatalf("%d modules under web/static; want the split tree", len(mods))
	}
	for name, text := range mods {
		layer := moduleLayer(name)
		for _, m := range importLine.FindAllStringSubmatch(text, -1) {
			spec := m[1] + m[2]
			var target string
			switch {
			case strings.HasPrefix(spec, "./") || strings.HasPrefix(spec, "../"):
				target = path.Join(path.Dir(name), spec)
			case strings.HasPrefix(spec, "/"):
				target = strings.TrimPrefix(spec, "/")
			default:
				t.Errorf("%s imports %q: only relative or same-origin imports (no bare specifiers, no build step)", name, spec)
				continue
			}
			if _, ok := mods[target]; !ok {
				t.Errorf("%s imports %q, which is no module under web/static", name, spec)
				continue
			}
			to := moduleLayer(target)
			allowed := false
			for _, l := range mayImport[layer] {
				allowed = allowed || l == to
			}
			if !allowed {
				t.Errorf("%s (%s) imports %s (%s); %s may import only %v", name, layer, target, to, layer, mayImport[layer])
			}
			if layer == "ui" && to == "ui" {
				t.Errorf("%s imports %s: ui controllers do not import each other (the element wires them)", name, target)
			}
		}
	}
}

// compileHint is the first line of every module of the element: V8 (Chrome
// 136 on) then compiles all its functions as the file loads, on a
// background thread, instead of each on the main thread when first called,
// which was in a live session's first frames (docs/performance.md).
const compileHint = "//# allFunctionsCalledOnLoad\n"

func TestElementModulesAreCompiledAsTheyLoad(t *testing.T) {
	for name, text := range staticModules(t) {
		if l := moduleLayer(name); (l == "sd" || l == "ui" || l == "core") && !strings.HasPrefix(text, compileHint) {
			t.Errorf("web/static/%s does not begin with %q: every module of the element does, so that V8 compiles it as it loads", name, strings.TrimSpace(compileHint))
		}
	}
}

func TestStaticFilesAreSmall(t *testing.T) {
	err := fs.WalkDir(os.DirFS("static"), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path.Join("static", name))
		if n := strings.Count(string(b), "\n"); n > maxModuleLines {
			t.Errorf("web/static/%s has %d lines; want at most %d", name, n, maxModuleLines)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCoreModulesUseNoDOM(t *testing.T) {
	dom := regexp.MustCompile(`(?:^|[^.\w$])(document|window|customElements|HTMLElement|sessionStorage|localStorage|requestAnimationFrame)\b`)
	quoted := regexp.MustCompile(`'(?:[^'\\]|\\.)*'`)
	for name, text := range staticModules(t) {
		if moduleLayer(name) != "core" {
			continue
		}
		for i, line := range strings.Split(text, "\n") {
			code := strings.TrimSpace(line)
			if strings.HasPrefix(code, "*") || strings.HasPrefix(code, "//") || strings.HasPrefix(code, "/*") {
				continue
			}
			if m := dom.FindStringSubmatch(quoted.ReplaceAllString(line, "''")); m != nil {
				t.Errorf("web/static/%s:%d uses %s; core modules are pure (no DOM) so node can import them", name, i+1, m[1])
			}
		}
	}
}

// importClosure returns entry and every module under web/static it
// imports, directly or not: what a browser fetches for it, read from the
// files' import lines.
func importClosure(t *testing.T, entry string) map[string]bool {
	t.Helper()
	mods := staticModules(t)
	seen := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		for _, m := range importLine.FindAllStringSubmatch(mods[name], -1) {
			spec := m[1] + m[2]
			if strings.HasPrefix(spec, "/") {
				visit(strings.TrimPrefix(spec, "/"))
			} else {
				visit(path.Join(path.Dir(name), spec))
			}
		}
	}
	visit(entry)
	return seen
}

// TestPagesPreloadTheModuleTree checks that the pages seqd serves (the
// app, a permalink, an embed) preload exactly the modules the element
// imports (followed from seq-diagram.js's import lines, as a browser
// would), so the browser fetches the tree at once instead of discovering
// it import by import.
func TestPagesPreloadTheModuleTree(t *testing.T) {
	ts := newServerWith(t, runners[0].make(), web.Config{})
	preload := regexp.MustCompile(`<link rel="modulepreload" href="/([^"]+)">`)
	for _, page := range []string{"/", "/s/abc", "/embed/serviceclient", "/embed/s/abc"} {
		t.Run("the page "+page+" preloads the whole tree", func(t *testing.T) {
			resp, err := http.Get(ts.URL + page)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d %v", page, resp.StatusCode, err)
			}
			got := map[string]bool{}
			for _, m := range preload.FindAllStringSubmatch(string(b), -1) {
				got[m[1]] = true
			}
			tree := importClosure(t, "seq-diagram.js")
			for name := range tree {
				if !got[name] {
					t.Errorf("%s does not preload %s, which the element imports", page, name)
				}
			}
			for name := range got {
				if !tree[name] {
					t.Errorf("%s preloads %s, which the element does not import", page, name)
				}
			}
			if bytes.Contains(b, []byte("seqd writes here")) {
				t.Errorf("%s still has the marker the links replace", page)
			}
		})
	}
}

// maxFunctionLines is the most lines a function or method under
// web/static may span, its braces included.
const maxFunctionLines = 80

// funcHead matches the first line of a function, method, getter or setter
// whose body opens on it: a name, its parameters and "{". Control
// statements are told apart by their keyword.
var funcHead = regexp.MustCompile(`^(\s*)(?:export\s+)?(?:async\s+)?(?:function\s*\*?\s*[\w$]+|(?:static\s+|get\s+|set\s+|async\s+)*#?[\w$]+)\s*\(.*\)\s*\{\s*$`)

var controlHead = regexp.MustCompile(`^\s*(?:if|for|while|switch|catch|with|return|else)\b`)

func TestStaticFunctionsAreShort(t *testing.T) {
	for name, text := range staticModules(t) {
		lines := strings.Split(text, "\n")
		for i, line := range lines {
			m := funcHead.FindStringSubmatch(line)
			if m == nil || controlHead.MatchString(line) {
				continue
			}
			end := m[1] + "}"
			for j := i + 1; j < len(lines); j++ {
				if lines[j] == end {
					if n := j - i + 1; n > maxFunctionLines {
						t.Errorf("web/static/%s:%d: %s spans %d lines; want at most %d", name, i+1, strings.TrimSpace(line), n, maxFunctionLines)
					}
					break
				}
			}
		}
	}
}

// TestModuleTreeIsServed checks that the server serves every module of
// the element like seq-diagram.js (JavaScript, CORS for course pages,
// no-cache with an ETag to revalidate) and nothing else: no folders, no
// files outside the embedded tree, no way out of it.
func TestModuleTreeIsServed(t *testing.T) {
	ts := newTestServer(t, web.Config{})
	for name := range elementModules(t) {
		resp, _ := do(t, "GET", ts.URL+name, "", "")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
			t.Errorf("GET %s: %d %q; want 200 text/javascript", name, resp.StatusCode, resp.Header.Get("Content-Type"))
			continue
		}
		if resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("GET %s: CORS %q, Cache-Control %q; want * and no-cache like /seq-diagram.js", name, resp.Header.Get("Access-Control-Allow-Origin"), resp.Header.Get("Cache-Control"))
		}
		tag := resp.Header.Get("ETag")
		if tag == "" {
			t.Errorf("GET %s: no ETag", name)
			continue
		}
		req, _ := http.NewRequest("GET", ts.URL+name, nil)
		req.Header.Set("If-None-Match", tag)
		again, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		again.Body.Close()
		if again.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s If-None-Match %s: %d; want 304", name, tag, again.StatusCode)
		}
	}
	for _, path := range []string{
		"/sd/", "/core", "/ui/", "/core/nope.js", "/jstest/layout.test.js", "/core/../index.html",
		"/core/%2e%2e/index.html", "/sd/..%2findex.html", "/static/app.js", "/core/styles.css", "/index.html",
	} {
		// A path with ".." may be answered with a redirect to its clean
		// form (which is then a page or a 404 itself); never with a file.
		if resp, _ := do(t, "GET", ts.URL+path, "", ""); resp.StatusCode != 404 && resp.StatusCode != 301 {
			t.Errorf("GET %s: %d %s; want 404", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}
