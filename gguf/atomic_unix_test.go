//go:build unix

package gguf

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestWriteFileModeFollowsUmask: outputs get 0666 less the umask, as
// os.Create would give, not os.CreateTemp's 0600.
func TestWriteFileModeFollowsUmask(t *testing.T) {
	for _, c := range []struct {
		umask int
		want  os.FileMode
	}{{0o022, 0o644}, {0o027, 0o640}, {0o002, 0o664}} {
		old := unix.Umask(c.umask)
		path := filepath.Join(t.TempDir(), "x.gguf")
		err := NewWriter().WriteFile(path)
		unix.Umask(old)
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != c.want {
			t.Errorf("umask %03o: mode %03o, want %03o", c.umask, got, c.want)
		}
	}
}
