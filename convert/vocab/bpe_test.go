package vocab

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/infer-go/infer/convert/internal/testsrc"
)

func TestFromCharsMultibyte(t *testing.T) {
	v, err := FromChars([]string{"a", "é", "€", "\n"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Ã ©", "â Ĥ", "âĤ ¬"}
	if !slices.Equal(v.Merges, want) || v.Tokens[1] != "Ã©" || v.Tokens[2] != "âĤ¬" || v.Tokens[3] != "Ċ" {
		t.Errorf("tokens %q merges %q, want merges %q", v.Tokens, v.Merges, want)
	}
	if v.EOS != -1 {
		t.Errorf("EOS %d without any candidate character", v.EOS)
	}
	for _, bad := range [][]string{{"a", "a"}, {"a", ""}, {"\xff"}} {
		if _, err := FromChars(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseMetaPKLErrors(t *testing.T) {
	good := filepath.Join(t.TempDir(), "meta.pkl")
	if err := os.WriteFile(good, testsrc.MetaPKL([]string{"a", "b"}), 0o644); err != nil {
		t.Fatal(err)
	}
	itos, err := ReadMetaPKL(good)
	if err != nil || !slices.Equal(itos, []string{"a", "b"}) {
		t.Fatalf("itos %q %v", itos, err)
	}
	b, _ := os.ReadFile(good)
	str := testsrc.PickleString
	for name, data := range map[string][]byte{
		"truncated": b[:len(b)-5],
		"class":     []byte("\x80\x02cos\nsystem\n(" + str("ls") + "tR."),
		"not dict":  []byte("\x80\x02]."),
		"no itos":   []byte("\x80\x02}(" + str("vocab_size") + "K\x01u."),
		"gap":       []byte("\x80\x02}(" + str("itos") + "}(K\x00" + str("a") + "K\x02" + str("b") + "uu."),
	} {
		if _, err := parseMetaPKL(data); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzParseMetaPKL(f *testing.F) {
	str := testsrc.PickleString
	f.Add([]byte("\x80\x02}(" + str("vocab_size") + "K\x02" + str("itos") + "}(K\x00" + str("a") + "K\x01" + str("b") + "uu."))
	f.Fuzz(func(t *testing.T, data []byte) {
		itos, err := parseMetaPKL(data)
		if err != nil {
			return
		}
		if _, err := FromChars(itos); err != nil {
			return
		}
	})
}
