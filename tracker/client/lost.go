package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/keywizard/keywizard/tracker"
)

// Lost keys: the person's own loss report, queued like a report, and IT's
// look-up and status change by serial.

// lossSuffix ends the queue file name of a loss report, so Flush sends it
// to its own endpoint; a report's name ends in ".json" after its key, and
// idempotency keys hold no dot.
const lossSuffix = ".lost.json"

// EnqueueLoss validates l and writes it to the queue durably, like
// Enqueue: it is sent in queue order with the reports, retried until the
// tracker answers, and never dropped (a refusal moves it aside with the
// rejected reports). It returns its queue key, for Rejected.
func (c *Client) EnqueueLoss(l tracker.LossReport) (string, error) {
	if err := l.Validate(); err != nil {
		return "", fmt.Errorf("invalid loss report: %w", err)
	}
	data, err := json.Marshal(l)
	if err != nil {
		return "", err
	}
	key := NewIdempotencyKey()
	name := fmt.Sprintf("%020d-%s%s", time.Now().UnixNano(), key, lossSuffix)
	if err := writeAtomic(filepath.Join(c.queue, name), data); err != nil {
		return "", fmt.Errorf("queueing loss report: %w", err)
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
	return queueKey(name), nil
}

// ReportLost tells the tracker at once that one of the caller's keys is
// lost: it queues the loss report, then tries to send the queue. If the
// tracker cannot be reached it stays queued and ReportLost returns an
// error matching ErrQueued; if the tracker refuses it (not the caller's
// key), a *RejectedError.
func (c *Client) ReportLost(ctx context.Context, l tracker.LossReport) error {
	key, err := c.EnqueueLoss(l)
	if err != nil {
		return err
	}
	if _, err := c.Flush(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrQueued, err)
	}
	return c.Rejected(key)
}

// sendQueued sends one queue file's contents to where its kind goes.
func (c *Client) sendQueued(ctx context.Context, name string, data []byte) error {
	if !strings.HasSuffix(name, lossSuffix) {
		var res tracker.ReportResult
		err := c.do(ctx, http.MethodPost, "/v1/reports", data, &res)
		if err == nil {
			// What the tracker checked (answers.go).
			c.setAnswer(queueKey(name), res)
		}
		return err
	}
	var l tracker.LossReport
	if err := json.Unmarshal(data, &l); err != nil {
		// Not something a retry can fix: set aside like a refusal.
		return &APIError{Status: http.StatusBadRequest, Body: tracker.ErrorBody{Error: "queued loss report unreadable: " + err.Error()}}
	}
	var st tracker.PersonStatus
	return c.do(ctx, http.MethodPost, "/v1/me/keys/"+strconv.FormatUint(uint64(l.Serial), 10)+"/lost", data, &st)
}

// ErrNoSuchKey says the tracker knows no key with this serial.
var ErrNoSuchKey = errors.New("the tracker has no key with this serial")

// FindKey returns the key serial names, its owner and history (IT only).
func (c *Client) FindKey(ctx context.Context, serial uint32) (tracker.KeyRecord, error) {
	var rec tracker.KeyRecord
	err := c.do(ctx, http.MethodGet, "/v1/keys/"+strconv.FormatUint(uint64(serial), 10), nil, &rec)
	return rec, keyErr(err)
}

// SetKeyStatus changes the key's status (IT only): lost, found (active)
// or retired, with a reason, and for a wipe what was erased. It returns
// the key as the tracker now has it.
func (c *Client) SetKeyStatus(ctx context.Context, serial uint32, ch tracker.KeyStatusChange) (tracker.KeyRecord, error) {
	if err := ch.Validate(); err != nil {
		return tracker.KeyRecord{}, err
	}
	body, err := json.Marshal(ch)
	if err != nil {
		return tracker.KeyRecord{}, err
	}
	var rec tracker.KeyRecord
	err = c.do(ctx, http.MethodPost, "/v1/keys/"+strconv.FormatUint(uint64(serial), 10)+"/status", body, &rec)
	return rec, keyErr(err)
}

// keyErr adds ErrNoSuchKey to a 404.
func keyErr(err error) error {
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return fmt.Errorf("%w: %w", ErrNoSuchKey, err)
	}
	return err
}
