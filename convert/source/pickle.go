package source

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/nlpodyssey/gopickle/pickle"
)

// pickleArg is how an opcode's argument is laid out after the opcode byte.
type pickleArg uint8

const (
	argNone   pickleArg = iota
	argFixed            // fixed bytes, in pickleOp.n
	argLen1             // 1-byte length, then that many bytes
	argLen4             // 4-byte little-endian length, then that many bytes
	argLen8             // 8-byte little-endian length, then that many bytes
	argLines2           // two newline-terminated lines (GLOBAL)
	argFrame            // 8-byte frame length, checked against the rest
)

type pickleOp struct {
	name string
	arg  pickleArg
	n    int
}

// checkpointOps are the pickle opcodes torch.save's checkpoints use
// (protocol 2, plus the protocol 4 ones a newer pickler may choose). Any
// other opcode means the file is not a plain checkpoint, and is refused
// before gopickle sees it.
var checkpointOps = map[byte]pickleOp{
	0x80: {"PROTO", argFixed, 1},
	0x95: {"FRAME", argFrame, 8},
	'c':  {"GLOBAL", argLines2, 0},
	0x93: {"STACK_GLOBAL", argNone, 0},
	'q':  {"BINPUT", argFixed, 1},
	'r':  {"LONG_BINPUT", argFixed, 4},
	0x94: {"MEMOIZE", argNone, 0},
	'h':  {"BINGET", argFixed, 1},
	'j':  {"LONG_BINGET", argFixed, 4},
	'(':  {"MARK", argNone, 0},
	')':  {"EMPTY_TUPLE", argNone, 0},
	't':  {"TUPLE", argNone, 0},
	0x85: {"TUPLE1", argNone, 0},
	0x86: {"TUPLE2", argNone, 0},
	0x87: {"TUPLE3", argNone, 0},
	'}':  {"EMPTY_DICT", argNone, 0},
	'd':  {"DICT", argNone, 0},
	']':  {"EMPTY_LIST", argNone, 0},
	'l':  {"LIST", argNone, 0},
	'a':  {"APPEND", argNone, 0},
	'e':  {"APPENDS", argNone, 0},
	's':  {"SETITEM", argNone, 0},
	'u':  {"SETITEMS", argNone, 0},
	'R':  {"REDUCE", argNone, 0},
	'b':  {"BUILD", argNone, 0},
	0x81: {"NEWOBJ", argNone, 0},
	'Q':  {"BINPERSID", argNone, 0},
	'J':  {"BININT", argFixed, 4},
	'K':  {"BININT1", argFixed, 1},
	'M':  {"BININT2", argFixed, 2},
	0x8a: {"LONG1", argLen1, 0},
	'G':  {"BINFLOAT", argFixed, 8},
	0x88: {"NEWTRUE", argNone, 0},
	0x89: {"NEWFALSE", argNone, 0},
	'N':  {"NONE", argNone, 0},
	'X':  {"BINUNICODE", argLen4, 0},
	0x8c: {"SHORT_BINUNICODE", argLen1, 0},
	0x8d: {"BINUNICODE8", argLen8, 0},
	'B':  {"BINBYTES", argLen4, 0},
	'C':  {"SHORT_BINBYTES", argLen1, 0},
	'0':  {"POP", argNone, 0},
	'.':  {"STOP", argNone, 0},
}

// checkPickle walks a pickle's opcodes without running them: every opcode
// must be one checkpoints use and every length must fit in the bytes that
// follow, so the unpickler never allocates on the file's word.
func checkPickle(p []byte) error {
	for i := 0; i < len(p); {
		at, code := i, p[i]
		op, ok := checkpointOps[code]
		if !ok {
			return fmt.Errorf("pickle opcode %#02x at offset %d is not one a checkpoint uses", code, at)
		}
		i++
		rest := len(p) - i
		need := uint64(0)
		switch op.arg {
		case argFixed:
			need = uint64(op.n)
		case argLen1:
			if rest < 1 {
				return fmt.Errorf("pickle %s at offset %d: truncated", op.name, at)
			}
			need = 1 + uint64(p[i])
			if code == 0x8a && p[i] == 0 {
				// LONG1 of no bytes is 0L; checkpoints write small ints as BININT*.
				return fmt.Errorf("pickle LONG1 at offset %d: empty", at)
			}
		case argLen4:
			if rest < 4 {
				return fmt.Errorf("pickle %s at offset %d: truncated", op.name, at)
			}
			need = 4 + uint64(binary.LittleEndian.Uint32(p[i:]))
		case argLen8, argFrame:
			if rest < 8 {
				return fmt.Errorf("pickle %s at offset %d: truncated", op.name, at)
			}
			n := binary.LittleEndian.Uint64(p[i:])
			if n > uint64(rest-8) {
				return fmt.Errorf("pickle %s at offset %d: length %d past the end", op.name, at, n)
			}
			need = 8
			if op.arg == argLen8 {
				need += n
			}
		case argLines2:
			for range 2 {
				nl := bytes.IndexByte(p[i:], '\n')
				if nl < 0 {
					return fmt.Errorf("pickle %s at offset %d: unterminated name", op.name, at)
				}
				i += nl + 1
			}
			rest = len(p) - i
		}
		if need > uint64(rest) {
			return fmt.Errorf("pickle %s at offset %d: argument of %d bytes past the end", op.name, at, need)
		}
		i += int(need)
		switch code {
		case 0x80:
			if p[at+1] > 5 {
				return fmt.Errorf("pickle protocol %d is not supported", p[at+1])
			}
		case '.':
			return nil
		}
	}
	return fmt.Errorf("pickle ends without STOP")
}

// ParsePlainPickle unpickles a pickle of plain values only (dicts, lists,
// tuples, strings, numbers, booleans, None), such as nanoGPT's meta.pkl:
// a pickle that names any class or function, or uses persistent ids, is
// refused, and nothing in it is ever called. Dicts come back as gopickle's
// *types.Dict (read them with TorchItems).
func ParsePlainPickle(data []byte) (root any, err error) {
	if err := checkPickle(data); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, fmt.Errorf("malformed pickle: %v", r)
		}
	}()
	u := pickle.NewUnpickler(bytes.NewReader(data))
	u.FindClass = func(module, name string) (any, error) {
		return nil, fmt.Errorf("the pickle names %s.%s: want plain values only", module, name)
	}
	u.PersistentLoad = func(any) (any, error) {
		return nil, errors.New("persistent ids are not expected in a pickle of plain values")
	}
	return u.Load()
}
