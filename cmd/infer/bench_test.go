package main

import (
	"encoding/json"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/infer-go/infer/gguf"
)

var benchArgs = []string{"bench", "-m", shippedModel, "-p", "16", "-n", "8", "-r", "2", "-t", "1,2"}

func TestBenchTable(t *testing.T) {
	stdout, stderr, code := runCmd(t, benchArgs...)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	table, _, _ := strings.Cut(stdout, "\n\n") // the extras follow a blank line
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("want a header, a separator and 4 rows, got:\n%s", stdout)
	}
	if got := tableCells(lines[0]); !slices.Equal(got, []string{"model", "size", "params", "threads", "test", "t/s"}) {
		t.Errorf("header %q", got)
	}
	want := [][2]string{{"1", "pp16"}, {"1", "tg8"}, {"2", "pp16"}, {"2", "tg8"}}
	for i, line := range lines[2:] {
		c := tableCells(line)
		if len(c) != 6 {
			t.Fatalf("row %q: want 6 cells", line)
		}
		if c[0] != "gpt2 Q8_0" || c[2] != "826.37K" || !strings.HasSuffix(c[1], "KiB") {
			t.Errorf("row %q: want model gpt2 Q8_0 with its size and 826.37K params", line)
		}
		if c[3] != want[i][0] || c[4] != want[i][1] {
			t.Errorf("row %d: threads %s test %s, want %s %s", i, c[3], c[4], want[i][0], want[i][1])
		}
		mean, sd, ok := strings.Cut(c[5], " ± ")
		m, err1 := strconv.ParseFloat(mean, 64)
		s, err2 := strconv.ParseFloat(sd, 64)
		if !ok || err1 != nil || err2 != nil || !(m > 0) || s < 0 {
			t.Errorf("row %q: t/s %q is not a positive mean ± a standard deviation", line, c[5])
		}
	}
}

func tableCells(line string) []string {
	parts := strings.Split(strings.Trim(line, "|"), "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func TestBenchJSON(t *testing.T) {
	stdout, stderr, code := runCmd(t, append(slices.Clone(benchArgs), "-o", "json")...)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatalf("output is not a JSON array: %v\n%s", err, stdout)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rows))
	}
	want := []struct {
		threads float64
		test    string
		np, ng  float64
	}{{1, "pp16", 16, 0}, {1, "tg8", 0, 8}, {2, "pp16", 16, 0}, {2, "tg8", 0, 8}}
	for i, r := range rows {
		for _, k := range []string{"model", "size", "params", "threads", "test", "n_prompt", "n_gen", "avg_ts", "stddev_ts", "samples_ts"} {
			if _, ok := r[k]; !ok {
				t.Errorf("row %d has no %q", i, k)
			}
		}
		if r["model"] != "gpt2 Q8_0" || r["params"] != 826368.0 || r["threads"] != want[i].threads || r["test"] != want[i].test ||
			r["n_prompt"] != want[i].np || r["n_gen"] != want[i].ng {
			t.Errorf("row %d = %v, want threads %v test %s", i, r, want[i].threads, want[i].test)
		}
		samples, _ := r["samples_ts"].([]any)
		if len(samples) != 2 {
			t.Errorf("row %d: %d samples, want 2 (-r 2)", i, len(samples))
		}
		var sum float64
		for _, s := range samples {
			v, _ := s.(float64)
			if !(v > 0) {
				t.Errorf("row %d: sample %v not positive", i, s)
			}
			sum += v
		}
		if avg, _ := r["avg_ts"].(float64); math.Abs(avg-sum/2) > 1e-6*avg || !(avg > 0) {
			t.Errorf("row %d: avg_ts %v is not the mean of %v", i, r["avg_ts"], samples)
		}
	}
}

// The shakespeare model's context is 128 tokens: a larger -p or -n is cut
// to fit, with a note.
func TestBenchCapsToContext(t *testing.T) {
	stdout, stderr, code := runCmd(t, "bench", "-m", shippedModel, "-p", "1000", "-n", "500", "-r", "1", "-t", "1")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	var tests []string
	for _, line := range lines[min(2, len(lines)):] {
		if c := tableCells(line); len(c) == 6 {
			tests = append(tests, c[4])
		}
	}
	if !slices.Equal(tests, []string{"pp128", "tg127"}) {
		t.Errorf("tests %q, want pp128 and tg127:\n%s", tests, stdout)
	}
	if !strings.Contains(stderr, "-p 1000 does not fit in the context of 128 tokens") || !strings.Contains(stderr, "-n 500 does not fit") {
		t.Errorf("want notes on the capped sizes, stderr:\n%s", stderr)
	}
}

func TestBenchUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"bench"},
		{"bench", "-m", shippedModel, "-p", "-1"},
		{"bench", "-m", shippedModel, "-n", "-1"},
		{"bench", "-m", shippedModel, "-p", "0", "-n", "0"},
		{"bench", "-m", shippedModel, "-r", "0"},
		{"bench", "-m", shippedModel, "-t", "0"},
		{"bench", "-m", shippedModel, "-t", "1,x"},
		{"bench", "-m", shippedModel, "-t", "1,,2"},
		{"bench", "-m", shippedModel, "-t", ""},
		{"bench", "-m", shippedModel, "-o", "csv"},
		{"bench", "-m", shippedModel, "--cache-type", "q4_0"},
		{"bench", "-m", shippedModel, "extra"},
		{"bench", "-m", shippedModel, "-bogus"},
	} {
		_, stderr, code := runCmd(t, args...)
		if code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", args, code, stderr)
		}
	}
	if _, _, code := runCmd(t, "bench", "-m", "does-not-exist.gguf", "-r", "1"); code != 1 {
		t.Errorf("missing model file: exit %d, want 1", code)
	}
}

func TestParseThreadList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
	}{{"4", []int{4}}, {"1,2,4", []int{1, 2, 4}}, {" 2 , 3", []int{2, 3}}, {"", nil}, {"-1", nil}, {"2,", nil}, {"a", nil}} {
		got, err := parseThreadList(tc.in)
		if (err != nil) != (tc.want == nil) || !slices.Equal(got, tc.want) {
			t.Errorf("parseThreadList(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestMeanStddev(t *testing.T) {
	for _, tc := range []struct {
		in       []float64
		mean, sd float64
	}{{[]float64{5}, 5, 0}, {[]float64{2, 4}, 3, math.Sqrt2}, {[]float64{1, 2, 3, 4}, 2.5, math.Sqrt(5.0 / 3)}} {
		m, s := meanStddev(tc.in)
		if math.Abs(m-tc.mean) > 1e-12 || math.Abs(s-tc.sd) > 1e-12 {
			t.Errorf("meanStddev(%v) = %v, %v; want %v, %v", tc.in, m, s, tc.mean, tc.sd)
		}
	}
}

// TestBenchSkipsTests: -p 0 skips the pp test and -n 0 the tg test, as in
// llama-bench.
func TestBenchSkipsTests(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"-p", "0", "-n", "4"}, []string{"tg4"}},
		{[]string{"-p", "8", "-n", "0"}, []string{"pp8"}},
	} {
		stdout, stderr, code := runCmd(t, append([]string{"bench", "-m", shippedModel, "-r", "1", "-t", "1"}, c.args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, stderr)
		}
		var tests []string
		for _, line := range strings.Split(stdout, "\n") {
			if c := tableCells(line); len(c) == 6 && c[0] != "model" && !strings.HasPrefix(c[0], "-") {
				tests = append(tests, c[4])
			}
		}
		if !slices.Equal(tests, c.want) {
			t.Errorf("%v: tests %q, want %q:\n%s", c.args, tests, c.want, stdout)
		}
	}
}

// TestBenchExtras: tg rows carry the weight bandwidth they imply (and with
// --mem-bw the machine's read bandwidth and the share), every row the load
// time and peak RSS, in json and under the md table.
func TestBenchExtras(t *testing.T) {
	size, perToken, err := tensorBytes(shippedModel)
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(shippedModel)
	if err != nil {
		t.Fatal(err)
	}
	embd, hasEmbd := f.Tensor("token_embd.weight")
	_, hasOutput := f.Tensor("output.weight")
	f.Close()
	if !hasEmbd || !hasOutput {
		t.Fatalf("the shipped model should have token_embd and a separate output")
	}
	if want := size - embd.Size + embd.Size/embd.Dims[1]; perToken != want {
		t.Errorf("weights per token %d, want %d (all %d but token_embd's other rows)", perToken, want, size)
	}

	stdout, stderr, code := runCmd(t, "bench", "-m", shippedModel, "-p", "8", "-n", "4", "-r", "1", "-t", "1", "-o", "json", "--mem-bw")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rows []benchResult
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil || len(rows) != 2 {
		t.Fatalf("%v: %s", err, stdout)
	}
	pp, tg := rows[0], rows[1]
	if pp.WeightGBps != 0 || pp.MemoryGBps != 0 || !(pp.LoadMS > 0) {
		t.Errorf("pp row %+v: want no bandwidth, a load time", pp)
	}
	if tg.WeightBytesPerToken != perToken || math.Abs(tg.WeightGBps-float64(perToken)*tg.AvgTS/1e9) > 1e-9*tg.WeightGBps ||
		!(tg.MemoryGBps > 0) || math.Abs(tg.MemoryShare-tg.WeightGBps/tg.MemoryGBps) > 1e-9 || tg.LoadMS != pp.LoadMS {
		t.Errorf("tg row %+v", tg)
	}
	if runtime.GOOS == "linux" && !(tg.PeakRSS > 1<<20) {
		t.Errorf("peak RSS %d bytes", tg.PeakRSS)
	}

	stdout, stderr, code = runCmd(t, "bench", "-m", shippedModel, "-p", "8", "-n", "4", "-r", "1", "-t", "1", "-ngl", "99", "-ub", "64")
	if code != 0 {
		t.Fatalf("md: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"tg4, 1 thread: ", " GB/s of weights (", " read per token)", "model load: "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("md output lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "note: -ngl, -ub ignored") {
		t.Errorf("no note on the ignored flags: %s", stderr)
	}
}
