//go:build windows

package gguf

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// mapFile maps path read-only with CreateFileMapping and MapViewOfFile:
// pages come from the system's file cache, as with mmap on Unix, so the
// weights are not copied into the heap. The view is unmapped by the
// returned function; the file and mapping handles are closed at once, since
// the view keeps the mapping alive.
func mapFile(path string) (data []byte, unmap func() error, err error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("gguf: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("gguf: %w", err)
	}
	if st.IsDir() {
		return nil, nil, fmt.Errorf("gguf: %s: is a directory", path)
	}
	size, err := checkSize(path, st.Size(), maxMapSize)
	if err != nil {
		return nil, nil, err
	}
	hi, lo := uint32(uint64(size)>>32), uint32(uint64(size))
	mapping, err := windows.CreateFileMapping(windows.Handle(fh.Fd()), nil, windows.PAGE_READONLY, hi, lo, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("gguf: %s: CreateFileMapping: %w", path, err)
	}
	defer windows.CloseHandle(mapping)
	addr, err := windows.MapViewOfFile(mapping, windows.FILE_MAP_READ, 0, 0, uintptr(size))
	if err != nil {
		return nil, nil, fmt.Errorf("gguf: %s: MapViewOfFile of %d bytes (a 32-bit system may lack the address space): %w", path, size, err)
	}
	// addr is memory outside Go's heap, so turning it into a pointer is
	// sound (unsafe.Add keeps vet's uintptr check quiet about that).
	data = unsafe.Slice((*byte)(unsafe.Add(nil, addr)), size)
	return data, func() error { return windows.UnmapViewOfFile(addr) }, nil
}
