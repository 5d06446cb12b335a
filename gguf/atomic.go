package gguf

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// AtomicFile is an output file being written under a temporary name beside
// its final path: readers of the path never see a partial file, Commit
// renames it into place and Abort removes it. Every output of this module
// (GGUF files, logits dumps) goes through one.
//
// The temporary name is ".BASE.infer-tmp-PID-RAND", so a file left behind by
// a process killed outright (kill -9, a power cut) says which process wrote
// it; CreateAtomic removes such leftovers for the same output once that
// process is gone. While a file is open it is listed for RemoveTemporary,
// which a command's signal handler calls before exiting.
type AtomicFile struct {
	*os.File
	path string // the final path
	done bool   // committed or aborted
}

// tempMarker separates an output's name from the writer's PID in a
// temporary file's name.
const tempMarker = ".infer-tmp-"

// live lists the temporary files open in this process, for RemoveTemporary.
var live = struct {
	sync.Mutex
	files map[string]bool
}{files: map[string]bool{}}

// CreateAtomic creates a temporary file for path in path's directory. Its
// mode is 0666 less the umask, as os.Create would give path itself (not
// os.CreateTemp's 0600). Temporary files for the same path left by processes
// that no longer run are removed first (StaleTemps lists them beforehand,
// for a caller that wants to say so).
func CreateAtomic(path string) (*AtomicFile, error) {
	dir, base := filepath.Split(path)
	if base == "" {
		return nil, fmt.Errorf("output %q: not a file name", path)
	}
	removeStaleTemps(dir, base)
	pid := os.Getpid()
	for range 100 {
		name := filepath.Join(dir, fmt.Sprintf(".%s%s%d-%08x", base, tempMarker, pid, rand.Uint32()))
		live.Lock()
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if err == nil {
			live.files[name] = true
		}
		live.Unlock()
		if err == nil {
			return &AtomicFile{File: f, path: path}, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("creating a temporary file for %s: %w", path, err)
		}
	}
	return nil, fmt.Errorf("cannot create a temporary file beside %s", path)
}

// Path is the final path the file is renamed to by Commit.
func (f *AtomicFile) Path() string { return f.path }

// Commit syncs the file to disk, closes it and renames it over the final
// path. On failure the temporary file is removed.
func (f *AtomicFile) Commit() error {
	if f.done {
		return fmt.Errorf("writing %s: file already committed or aborted", f.path)
	}
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), f.path)
	}
	if err != nil {
		f.Abort()
		return fmt.Errorf("writing %s: %w", f.path, err)
	}
	f.forget()
	syncDir(filepath.Dir(f.path))
	return nil
}

// Abort closes and removes the temporary file, leaving the final path as it
// was. It does nothing after Commit or a first Abort, so it can be deferred.
func (f *AtomicFile) Abort() {
	if f.done {
		return
	}
	f.Close()
	os.Remove(f.Name())
	f.forget()
}

func (f *AtomicFile) forget() {
	f.done = true
	live.Lock()
	delete(live.files, f.Name())
	live.Unlock()
}

// RemoveTemporary removes every temporary file this process has open for
// an AtomicFile, for a signal handler about to exit without unwinding the
// writers. It returns the names removed.
func RemoveTemporary() []string {
	live.Lock()
	defer live.Unlock()
	var names []string
	for name := range live.files {
		if os.Remove(name) == nil {
			names = append(names, name)
		}
		delete(live.files, name)
	}
	return names
}

// StaleTemp is a temporary file of an earlier process for some output.
type StaleTemp struct {
	Name string // its path
	PID  int    // the process that created it
}

// StaleTemps lists the temporary files for path left by processes that no
// longer run (killed before they could remove them).
func StaleTemps(path string) []StaleTemp {
	dir, base := filepath.Split(path)
	return findStaleTemps(dir, base)
}

func findStaleTemps(dir, base string) []StaleTemp {
	d := dir
	if d == "" {
		d = "."
	}
	entries, err := os.ReadDir(d)
	if err != nil {
		return nil
	}
	prefix := "." + base + tempMarker
	var stale []StaleTemp
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		stale = append(stale, StaleTemp{Name: filepath.Join(dir, e.Name()), PID: pid})
	}
	return stale
}

// removeStaleTemps removes what findStaleTemps finds; a failure only leaves
// the file where it was.
func removeStaleTemps(dir, base string) {
	for _, st := range findStaleTemps(dir, base) {
		os.Remove(st.Name)
	}
}
