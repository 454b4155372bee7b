package exporter

import (
	"strings"
	"testing"
)

// FuzzParseQueue checks that any --queue value either fails with an error or
// yields a valid queue name, and that a parsed URL parses again to the same
// queue.
func FuzzParseQueue(f *testing.F) {
	for _, seed := range []string{
		"orders", "jobs.fifo", "a_b-c",
		"https://sqs.us-east-1.amazonaws.com/123456789012/orders",
		"http://sqs.us-east-1.127.0.0.1:4566/000000000000/x.fifo",
		"https://sqs.us-east-1.amazonaws.com/orders", "ftp://h/1/q", "://", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQueue(s)
		if err != nil {
			if !strings.Contains(err.Error(), "invalid") {
				t.Errorf("ParseQueue(%q) error %q does not say what is invalid", s, err)
			}
			return
		}
		if !queueNameRE.MatchString(q.Name) || len(q.Name) > 80 {
			t.Errorf("ParseQueue(%q) = name %q, not an SQS queue name", s, q.Name)
		}
		if q.URL == "" {
			if q.Name != s {
				t.Errorf("ParseQueue(%q) = name %q, want the input", s, q.Name)
			}
			return
		}
		again, err := ParseQueue(q.URL)
		if err != nil || again != q {
			t.Errorf("ParseQueue(%q) = %+v, but its URL parses to %+v, %v", s, q, again, err)
		}
		if !strings.HasSuffix(q.URL, "/"+q.Name) {
			t.Errorf("ParseQueue(%q): URL %q does not end in the name %q", s, q.URL, q.Name)
		}
	})
}
