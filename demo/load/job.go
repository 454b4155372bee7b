package load

import (
	"encoding/json"
	"fmt"
	"time"
)

// Job is the body of every message the demo puts on a queue: an id for the
// logs and the time it was sent, so the worker that takes it knows how long it
// waited.
type Job struct {
	ID   string    `json:"id"`
	Sent time.Time `json:"sent"`
}

// Encode returns the message body for j.
func (j Job) Encode() string {
	b, err := json.Marshal(j)
	if err != nil {
		// A struct of a string and a time always marshals.
		panic(fmt.Sprintf("encode job: %v", err))
	}
	return string(b)
}

// ParseJob reads a message body written by Encode.
func ParseJob(body string) (Job, error) {
	var j Job
	if err := json.Unmarshal([]byte(body), &j); err != nil {
		return Job{}, fmt.Errorf("parse job body %q: %w", body, err)
	}
	if j.Sent.IsZero() {
		return Job{}, fmt.Errorf("parse job body %q: no sent time", body)
	}
	return j, nil
}
