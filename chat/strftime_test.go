package chat

import (
	"testing"
	"time"
)

// TestStrftime compares with Python's datetime.strftime (3.11, glibc, C
// locale) on naive datetimes, as transformers' strftime_now formats them.
func TestStrftime(t *testing.T) {
	formats := []string{"%d %b %Y", "%Y-%m-%d", "%A, %B %d, %Y", "%a %H:%M:%S %p", "%I %p", "%y %j %e", "%c", "%F %T", "%D", "%%d", "%z|%Z", "%q", "50%"}
	for _, tc := range []struct {
		at   time.Time
		want []string
	}{
		{time.Date(2024, 7, 26, 9, 5, 3, 0, time.UTC), []string{"26 Jul 2024", "2024-07-26", "Friday, July 26, 2024", "Fri 09:05:03 AM", "09 AM", "24 208 26",
			"Fri Jul 26 09:05:03 2024", "2024-07-26 09:05:03", "07/26/24", "%d", "|", "%q", "50%"}},
		{time.Date(2024, 1, 5, 15, 0, 0, 0, time.UTC), []string{"05 Jan 2024", "2024-01-05", "Friday, January 05, 2024", "Fri 15:00:00 PM", "03 PM", "24 005  5",
			"Fri Jan  5 15:00:00 2024", "2024-01-05 15:00:00", "01/05/24", "%d", "|", "%q", "50%"}},
		{time.Date(2023, 12, 31, 0, 30, 59, 0, time.FixedZone("X", 3600)), []string{"31 Dec 2023", "2023-12-31", "Sunday, December 31, 2023", "Sun 00:30:59 AM", "12 AM",
			"23 365 31", "Sun Dec 31 00:30:59 2023", "2023-12-31 00:30:59", "12/31/23", "%d", "|", "%q", "50%"}},
	} {
		for i, f := range formats {
			if got := Strftime(tc.at, f); got != tc.want[i] {
				t.Errorf("Strftime(%v, %q) = %q, want %q", tc.at, f, got, tc.want[i])
			}
		}
	}
	// strftime_now reads Inputs.Now.
	tpl, err := Parse("{{ strftime_now('%d %b %Y') }}")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := tpl.Render(Inputs{Now: fixedNow}); err != nil || got != "26 Jul 2024" {
		t.Errorf("strftime_now = %q, %v", got, err)
	}
	if got, err := tpl.Render(Inputs{}); err != nil || got != Strftime(time.Now(), "%d %b %Y") {
		t.Errorf("strftime_now with the real clock = %q, %v", got, err)
	}
}
