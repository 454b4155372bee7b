package exporter

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Queue is one SQS queue the exporter reports on.
type Queue struct {
	// Name is the queue name, the value of the queue label.
	Name string
	// URL is the queue URL; empty while a queue given by name is not resolved.
	URL string
}

// FIFO reports whether the queue is a FIFO queue: SQS requires FIFO queue
// names to end in ".fifo", so no API call is needed to know.
func (q Queue) FIFO() bool { return strings.HasSuffix(q.Name, ".fifo") }

// queueNameRE is SQS's rule for queue names: up to 80 characters of
// alphanumerics, hyphens and underscores, ".fifo" included for FIFO queues.
var queueNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,75}(\.fifo)?$|^[A-Za-z0-9_-]{1,80}$`)

// prefixRE allows what can start a queue name.
var prefixRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,80}$`)

// ParseQueue reads a --queue value: a queue name or a queue URL
// (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME). A name leaves URL empty,
// to be resolved with GetQueueUrl.
func ParseQueue(s string) (Queue, error) {
	if !strings.Contains(s, "://") {
		if !queueNameRE.MatchString(s) {
			return Queue{}, fmt.Errorf("queue name %q is invalid: SQS names are 1-80 characters of letters, digits, '-' and '_', FIFO names ending in \".fifo\"", s)
		}
		return Queue{Name: s}, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return Queue{}, fmt.Errorf("queue URL %q is invalid: %w", s, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return Queue{}, fmt.Errorf("queue URL %q is invalid: scheme must be https or http", s)
	}
	if strings.ContainsAny(s, "?#@%") {
		return Queue{}, fmt.Errorf("queue URL %q is invalid: it must be https://HOST/ACCOUNT_ID/QUEUE_NAME without query, fragment, user or escapes", s)
	}
	if u.Host == "" {
		return Queue{}, fmt.Errorf("queue URL %q is invalid: no host", s)
	}
	parts := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")
	if len(parts) != 2 || parts[0] == "" {
		return Queue{}, fmt.Errorf("queue URL %q is invalid: the path must be /ACCOUNT_ID/QUEUE_NAME", s)
	}
	if !queueNameRE.MatchString(parts[1]) {
		return Queue{}, fmt.Errorf("queue URL %q is invalid: queue name %q is not an SQS queue name", s, parts[1])
	}
	return Queue{Name: parts[1], URL: s}, nil
}

// ValidatePrefix checks a --queue-prefix value.
func ValidatePrefix(p string) error {
	if !prefixRE.MatchString(p) {
		return fmt.Errorf("queue prefix %q is invalid: 1-80 characters of letters, digits, '-', '_' and '.'", p)
	}
	return nil
}

// queueNameFromURL is the last path element of a queue URL returned by SQS.
func queueNameFromURL(s string) (string, error) {
	q, err := ParseQueue(s)
	if err != nil {
		return "", err
	}
	if q.URL == "" {
		return "", fmt.Errorf("%q is not a queue URL", s)
	}
	return q.Name, nil
}
