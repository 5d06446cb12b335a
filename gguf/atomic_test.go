package gguf

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// tempsIn lists the names in dir that look like AtomicFile temporaries.
func tempsIn(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if regexp.MustCompile(`\.infer-tmp-`).MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	return names
}

func TestAtomicFileCommitAbort(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.bin")

	f, err := CreateAtomic(out)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`^\.out\.bin\.infer-tmp-%d-[0-9a-f]{8}$`, os.Getpid())
	if !regexp.MustCompile(want).MatchString(filepath.Base(f.Name())) {
		t.Errorf("temporary name %q does not match %s", filepath.Base(f.Name()), want)
	}
	if _, err := f.WriteString("partial"); err != nil {
		t.Fatal(err)
	}
	f.Abort()
	f.Abort() // a second Abort (the deferred one) is harmless
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("Abort left %s (err %v)", out, err)
	}
	if left := tempsIn(t, dir); len(left) > 0 {
		t.Errorf("Abort left temporaries %v", left)
	}

	f, err = CreateAtomic(out)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("whole")
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Abort() // after Commit: must not remove the output
	if b, err := os.ReadFile(out); err != nil || string(b) != "whole" {
		t.Errorf("after Commit: %q, %v", b, err)
	}
	if err := f.Commit(); err == nil {
		t.Error("a second Commit succeeded")
	}
	if left := tempsIn(t, dir); len(left) > 0 {
		t.Errorf("Commit left temporaries %v", left)
	}
}

func TestRemoveTemporary(t *testing.T) {
	dir := t.TempDir()
	a, err := CreateAtomic(filepath.Join(dir, "a.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := CreateAtomic(filepath.Join(dir, "b.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	removed := RemoveTemporary()
	if !slices.Equal(removed, []string{a.Name()}) {
		t.Errorf("RemoveTemporary removed %v, want only %s", removed, a.Name())
	}
	if left := tempsIn(t, dir); len(left) > 0 {
		t.Errorf("left %v", left)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.gguf")); err != nil {
		t.Errorf("the committed file is gone: %v", err)
	}
	a.Abort()
}

// deadPID returns the id of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run a child process: %v", err)
	}
	return cmd.Process.Pid
}

// TestCreateAtomicRemovesStale: temporaries of the same output whose writer
// is gone are removed; a live writer's, another output's and names that
// only look similar are kept.
func TestCreateAtomicRemovesStale(t *testing.T) {
	if !processAlive(os.Getppid()) {
		t.Skip("this system cannot tell whether a process is alive")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "m.gguf")
	dead := deadPID(t)
	if processAlive(dead) {
		t.Skipf("pid %d was reused already", dead)
	}
	files := map[string]bool{ // name -> removed
		fmt.Sprintf(".m.gguf.infer-tmp-%d-0badf00d", dead):               true,
		fmt.Sprintf(".m.gguf.infer-tmp-%d-1", os.Getppid()):              false, // alive
		fmt.Sprintf(".other.gguf.infer-tmp-%d-0badf00d", dead):           false, // another output
		fmt.Sprintf(".m.gguf.infer-tmp-x%d-0badf00d", dead):              false, // not a pid
		fmt.Sprintf(".m.gguf.infer-tmp-%d", dead):                        false, // no random part
		fmt.Sprintf(".m.gguf.extra.infer-tmp-%d-0badf00d", os.Getppid()): false,
	}
	for name := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stale := StaleTemps(out)
	if len(stale) != 1 || stale[0].PID != dead {
		t.Errorf("StaleTemps = %v, want the one of pid %d", stale, dead)
	}
	f, err := CreateAtomic(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Abort()
	for name, removed := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		if gone := os.IsNotExist(err); gone != removed {
			t.Errorf("%s: removed %v, want %v", name, gone, removed)
		}
	}
}
