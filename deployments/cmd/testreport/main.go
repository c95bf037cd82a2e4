// Command testreport reads `go test -json` output on stdin and prints a compact
// report: one line per package, the full output of every failed test, and totals
// that say how many integration tests (TestIntegration…) passed, failed or were
// skipped, with each skip's reason. It exits 1 when anything failed, so CI output
// proves the integration tests ran instead of skipping silently.
//
// Lines that are not JSON (build errors on older toolchains) are echoed as they are.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action     string
	Package    string
	ImportPath string
	Test       string
	Output     string
	Elapsed    float64
}

type testKey struct{ pkg, test string }

type totals struct {
	pass, fail, skip int
}

func main() {
	summary := flag.String("summary", "", "append the totals line to this file as well")
	name := flag.String("name", "", "label for the totals line (the module)")
	flag.Parse()
	failed := report(os.Stdin, os.Stdout, *summary, *name)
	if failed {
		os.Exit(1)
	}
}

func report(in io.Reader, out io.Writer, summaryFile, name string) (failed bool) {
	outputs := map[testKey]*strings.Builder{}
	var all, integ totals
	var skipped []string
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintln(out, string(line))
			if strings.Contains(string(line), "FAIL") {
				failed = true
			}
			continue
		}
		switch e.Action {
		case "build-output":
			fmt.Fprint(out, e.Output)
		case "build-fail":
			failed = true
			fmt.Fprintf(out, "FAIL\t%s [build failed]\n", e.ImportPath)
		case "output":
			k := testKey{e.Package, e.Test}
			if outputs[k] == nil {
				outputs[k] = &strings.Builder{}
			}
			outputs[k].WriteString(e.Output)
		case "pass", "fail", "skip":
			k := testKey{e.Package, e.Test}
			if e.Test == "" {
				if e.Action == "fail" {
					failed = true
					if b := outputs[k]; b != nil {
						fmt.Fprint(out, b.String())
					} else {
						fmt.Fprintf(out, "FAIL\t%s\n", e.Package)
					}
				} else if b := outputs[k]; b != nil {
					// The package's own summary line ("ok  pkg 1.2s" or "?  pkg [no test files]").
					for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
						if strings.HasPrefix(l, "ok") || strings.HasPrefix(l, "?") {
							fmt.Fprintln(out, l)
						}
					}
				}
				delete(outputs, k)
				continue
			}
			top := !strings.Contains(e.Test, "/")
			isInteg := strings.HasPrefix(e.Test, "TestIntegration") && top
			switch e.Action {
			case "pass":
				all.pass++
				if isInteg {
					integ.pass++
				}
			case "fail":
				all.fail++
				if isInteg {
					integ.fail++
				}
				if b := outputs[k]; b != nil {
					fmt.Fprint(out, b.String())
				}
			case "skip":
				all.skip++
				if isInteg {
					integ.skip++
					skipped = append(skipped, fmt.Sprintf("%s %s: %s", e.Package, e.Test, skipReason(outputs[k])))
				}
			}
			if e.Action != "fail" {
				delete(outputs, k)
			}
		}
	}
	sort.Strings(skipped)
	for _, s := range skipped {
		fmt.Fprintln(out, "SKIPPED integration test:", s)
	}
	line := fmt.Sprintf("%-12s tests: %d passed, %d failed, %d skipped; integration tests: %d passed, %d failed, %d skipped",
		name, all.pass, all.fail, all.skip, integ.pass, integ.fail, integ.skip)
	fmt.Fprintln(out, line)
	if summaryFile != "" {
		if f, err := os.OpenFile(summaryFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			fmt.Fprintln(f, line)
			f.Close()
		}
	}
	return failed || all.fail > 0
}

func skipReason(b *strings.Builder) string {
	if b == nil {
		return "no reason given"
	}
	for _, l := range strings.Split(b.String(), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "=== ") && !strings.HasPrefix(l, "--- ") {
			return l
		}
	}
	return "no reason given"
}
