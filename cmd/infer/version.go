package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/klauspost/cpuid/v2"

	"github.com/infer-go/infer/ops"
)

func init() {
	register(command{name: "version", summary: "print the version, Go version, CPU features and kernels (also --version)", run: runVersion})
}

// version is set by the release build: go build -ldflags "-X main.version=v1.2.3".
// Left empty, the module version or VCS revision from the build info is used.
var version string

func runVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: infer version   (or infer --version)")
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	fmt.Fprintf(stdout, "infer %s\n", buildVersion())
	fmt.Fprintf(stdout, "go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(stdout, "cpu: %s, %d physical cores, %d threads\n", cpuid.CPU.BrandName, cpuid.CPU.PhysicalCores, cpuid.CPU.LogicalCores)
	fmt.Fprintf(stdout, "cpu features: %s\n", strings.Join(cpuFeatures(), " "))
	simd := "on"
	if !ops.SIMD() {
		simd = "off (INFER_NOSIMD, no assembly for this CPU, or the purego build)"
	}
	fmt.Fprintf(stdout, "assembly kernels: %s\n", simd)
	byImpl := map[string][]string{}
	var impls []string
	for _, k := range ops.Kernels() {
		if byImpl[k.Impl] == nil {
			impls = append(impls, k.Impl)
		}
		byImpl[k.Impl] = append(byImpl[k.Impl], k.Type.String())
	}
	for _, impl := range impls {
		fmt.Fprintf(stdout, "kernels %s: %s\n", impl, strings.Join(byImpl[impl], " "))
	}
	return nil
}

// buildVersion is the -ldflags version, else the module's version (for go
// install module@version), else the VCS revision go build stamped.
func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown version)"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if rev == "" {
		return "(devel)"
	}
	return "(devel) " + rev[:min(12, len(rev))] + modified
}

// cpuFeatures lists the features the kernels care about that this CPU has.
func cpuFeatures() []string {
	var names []string
	for _, f := range []struct {
		name string
		id   cpuid.FeatureID
	}{
		{"SSE3", cpuid.SSE3}, {"SSSE3", cpuid.SSSE3}, {"AVX", cpuid.AVX}, {"AVX2", cpuid.AVX2},
		{"FMA", cpuid.FMA3}, {"F16C", cpuid.F16C}, {"AVX512F", cpuid.AVX512F}, {"AVX512BW", cpuid.AVX512BW},
		{"AVX512VNNI", cpuid.AVX512VNNI}, {"AVXVNNI", cpuid.AVXVNNI},
		{"ASIMD", cpuid.ASIMD}, {"ASIMDDP", cpuid.ASIMDDP}, {"FPHP", cpuid.FPHP}, {"SVE", cpuid.SVE},
	} {
		if cpuid.CPU.Supports(f.id) {
			names = append(names, f.name)
		}
	}
	if len(names) == 0 {
		names = []string{"(none the kernels use)"}
	}
	return names
}
