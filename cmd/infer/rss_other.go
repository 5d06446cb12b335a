//go:build !unix

package main

// peakRSS is unknown on this system: the bench prints no peak RSS.
func peakRSS() uint64 { return 0 }
