package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/keywizard/keywizard/tracker"
)

// LocalRecorder keeps the record on this machine when no tracker is
// configured: one JSON report per line in a file the person can hand to IT.
type LocalRecorder struct {
	Path string
	mu   sync.Mutex
}

var (
	_ Recorder = (*LocalRecorder)(nil)
	_ Recorder = (*Client)(nil)
)

// NewLocalRecorder keeps the record in dir/enrolment-record.jsonl.
func NewLocalRecorder(dir string) (*LocalRecorder, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating record directory: %w", err)
	}
	return &LocalRecorder{Path: filepath.Join(dir, "enrolment-record.jsonl")}, nil
}

// Destination implements [Recorder].
func (l *LocalRecorder) Destination() string {
	return "No onboarding tracker is configured, so your record is kept on this computer only, in " + l.Path
}

// Record implements [Recorder]. Reports with an idempotency key already in
// the file are not written twice.
func (l *LocalRecorder) Record(_ context.Context, r tracker.Report) error {
	if r.IdempotencyKey == "" {
		r.IdempotencyKey = NewIdempotencyKey()
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("invalid report: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	have, err := l.records()
	if err != nil {
		return err
	}
	for _, h := range have {
		if h.IdempotencyKey == r.IdempotencyKey {
			return nil
		}
	}
	// The attestation certificates are public but bulky, and a local
	// record has nobody to verify them.
	r.Attestation = nil
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(l.Path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("opening local record: %w", err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("writing local record: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("writing local record: %w", err)
	}
	return f.Close()
}

// Records returns what has been recorded so far.
func (l *LocalRecorder) Records() ([]tracker.Report, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.records()
}

func (l *LocalRecorder) records() ([]tracker.Report, error) {
	f, err := os.Open(l.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading local record: %w", err)
	}
	defer f.Close()
	var out []tracker.Report
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), tracker.MaxBodyBytes)
	for sc.Scan() {
		var r tracker.Report
		// A line torn by a crash mid-append is skipped, not fatal.
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			out = append(out, r)
		}
	}
	return out, sc.Err()
}
