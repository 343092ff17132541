package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/keywizard/keywizard/tracker"
)

// slackMessage is the subset of Slack's incoming-webhook payload that
// Slack, Mattermost, Rocket.Chat and Teams' Slack-compatible hooks accept.
type slackMessage struct {
	Text string `json:"text"`
}

// Event kinds, sent in the X-Keywizard-Event header of each webhook post
// (the body stays Slack's, which has no field for it), so a receiver other
// than a chat can route them.
const (
	eventComplete      = "person.complete"
	eventCompleteAgain = "person.complete-again"
	eventReportedLost  = "key.reported-lost"
	eventDigest        = "digest.overdue"
)

// eventHeader names the webhook post's event kind.
const eventHeader = "X-Keywizard-Event"

func (s *Server) notifyComplete(ctx context.Context, p tracker.Person, again bool) {
	if s.cfg.WebhookURL == "" {
		return
	}
	services, err := s.services(ctx)
	if err != nil {
		s.cfg.Logf("tracker: completion webhook: %v", err)
		return
	}
	event, msg := eventComplete, fmt.Sprintf("%s (%s) finished YubiKey onboarding: both keys registered with %s, OTP disabled.",
		slackEscape(p.Name), slackEscape(p.Email), strings.Join(tracker.ServiceIDs(services), ", "))
	if again {
		event, msg = eventCompleteAgain, fmt.Sprintf("%s (%s) is complete again: the replacement key is registered with %s, OTP disabled.",
			slackEscape(p.Name), slackEscape(p.Email), strings.Join(tracker.ServiceIDs(services), ", "))
	}
	s.deliver(event, msg)
}

// notifyReportedLost tells IT that p reported key k lost, and what to do.
func (s *Server) notifyReportedLost(p tracker.Person, k tracker.Key, reason string) {
	if s.cfg.WebhookURL == "" {
		return
	}
	msg := fmt.Sprintf("%s (%s) reported YubiKey %d (%s key, %s) lost: %q. Confirm it lost or mark it found in the dashboard, or with `keywizard tracker key lost|found %d --reason ...`.",
		slackEscape(p.Name), slackEscape(p.Email), k.Serial, k.Role, slackEscape(k.Model), slackEscape(reason), k.Serial)
	s.deliver(eventReportedLost, msg)
}

// deliver posts msg in the background: delivery must not hold up the
// request that caused it, and must not be cut short when it ends.
func (s *Server) deliver(event, msg string) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.post(ctx, event, slackMessage{Text: msg}); err != nil {
			s.cfg.Logf("tracker: %s webhook: %v", event, err)
		}
	}()
}

// slackText escapes the three characters Slack's message formatting gives
// a meaning (https://api.slack.com/reference/surfaces/formatting#escaping):
// a name like "<!channel>" must not notify a whole channel, nor
// "<https://evil|IT>" make a link.
var slackText = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func slackEscape(s string) string { return slackText.Replace(s) }

// post delivers a webhook message with a few retries.
func (s *Server) post(ctx context.Context, event string, m slackMessage) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var last error
	for attempt := range 3 {
		if attempt > 0 {
			select {
			case <-time.After(time.Duration(attempt) * 2 * time.Second):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.WebhookURL, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("building webhook request: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(eventHeader, event)
		resp, err := s.cfg.HTTPClient.Do(req)
		if err != nil {
			// The URL holds the hook's secret; report only the kind of failure.
			last = fmt.Errorf("sending webhook failed (attempt %d)", attempt+1)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			return nil
		}
		last = fmt.Errorf("webhook answered %s", resp.Status)
		if resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusTooManyRequests {
			return last
		}
	}
	return last
}

// SendDigest posts the daily list of overdue people, once per calendar day
// (UTC) across all instances sharing the store. It reports whether it sent.
func (s *Server) SendDigest(ctx context.Context) (bool, error) {
	if s.cfg.WebhookURL == "" {
		return false, nil
	}
	now := s.cfg.Now()
	admin := &caller{Person: tracker.Person{Admin: true}}
	v, _, _, err := s.teamView(ctx, admin, "")
	if err != nil {
		return false, fmt.Errorf("building digest: %w", err)
	}
	var lines []string
	for _, r := range v.Rows {
		if r.Overdue {
			lines = append(lines, fmt.Sprintf("• %s (%s, %s), started %s, due %s, day %d",
				slackEscape(r.Person.Name), slackEscape(r.Person.Email), slackEscape(r.Person.Team), r.Person.StartDate, r.DueDate, r.DaysSinceStart))
		}
	}
	if len(lines) == 0 {
		return false, nil
	}
	// The claim is taken before posting, so two instances never both
	// post, and released if the post fails, so the day's digest is not
	// lost: RunDigest (here or on another instance) tries again.
	day := now.UTC().Format(time.DateOnly)
	first, err := s.cfg.Store.ClaimDigest(ctx, day)
	if err != nil || !first {
		return false, err
	}
	text := fmt.Sprintf("%d %s past their first month without finishing YubiKey onboarding:\n%s",
		len(lines), plural(len(lines), "person is", "people are"), strings.Join(lines, "\n"))
	if err := s.post(ctx, eventDigest, slackMessage{Text: text}); err != nil {
		// Released even when ctx ended: a claim nobody holds would
		// silence the day.
		if rerr := s.cfg.Store.ReleaseDigest(context.WithoutCancel(ctx), day); rerr != nil {
			return false, fmt.Errorf("sending digest: %w (and %w: no digest today)", err, rerr)
		}
		return false, fmt.Errorf("sending digest: %w", err)
	}
	return true, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Retry delays for a digest that could not be posted: a webhook that is
// down for a while still gets the day's digest, late.
const (
	digestRetryMin = 10 * time.Minute
	digestRetryMax = 2 * time.Hour
)

// RunDigest sends the digest every day at hour:00 UTC until ctx ends,
// retrying a failed one later the same day. after is the timer function
// (time.After in production) so tests need not wait a day.
func (s *Server) RunDigest(ctx context.Context, hour int, after func(time.Duration) <-chan time.Time) {
	if after == nil {
		after = time.After
	}
	var retry time.Duration // non-zero after a failure
	for {
		now := s.cfg.Now().UTC()
		next := time.Date(now.Year(), now.Month(), now.Day(), hour, 0, 0, 0, time.UTC)
		if !next.After(now) {
			next = next.Add(24 * time.Hour)
		}
		wait := next.Sub(now)
		midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC)
		if retry > 0 && now.Add(retry).Before(midnight) {
			// Past midnight the retry would send the next day's
			// digest early; that one waits for its hour.
			wait = min(wait, retry)
		}
		select {
		case <-ctx.Done():
			return
		case <-after(wait):
		}
		if _, err := s.SendDigest(ctx); err != nil {
			s.cfg.Logf("tracker: %v", err)
			retry = min(max(2*retry, digestRetryMin), digestRetryMax)
			continue
		}
		retry = 0
	}
}
