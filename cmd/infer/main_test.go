package main

import (
	"bytes"
	"slices"
	"testing"
)

// runCmd runs the infer command line in-process.
func runCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestConversationMode(t *testing.T) {
	tests := []struct {
		args     []string
		wantCmd  string
		wantArgs []string
	}{
		{[]string{"-m", "M", "-p", "hi"}, "generate", []string{"-m", "M", "-p", "hi"}},
		{[]string{"-m", "M", "-cnv"}, "chat", []string{"-m", "M"}},
		{[]string{"-i", "-m", "M", "-p", "be brief"}, "chat", []string{"-m", "M", "--system", "be brief"}},
		{[]string{"--conversation", "-m", "M", "--", "-x"}, "chat", []string{"-m", "M", "--", "-x"}},
	}
	for _, tt := range tests {
		cmd, args := conversationMode(slices.Clone(tt.args))
		if cmd != tt.wantCmd || !slices.Equal(args, tt.wantArgs) {
			t.Errorf("conversationMode(%q) = %s %q, want %s %q", tt.args, cmd, args, tt.wantCmd, tt.wantArgs)
		}
	}
}
