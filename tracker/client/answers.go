package client

import "github.com/keywizard/keywizard/tracker"

func (c *Client) setAnswer(key string, res tracker.ReportResult) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.answers == nil {
		c.answers = map[string]tracker.ReportResult{}
	}
	c.answers[key] = res
}

// Answer returns the tracker's answer to the report queued with
// idempotency key key (Enqueue's result), if it was sent by this client
// since it started: whether the key was attested genuine and why not
// (tracker.ReportResult). false means not sent yet, refused, or unknown.
// The wizard says a key is genuine only from this answer.
func (c *Client) Answer(key string) (tracker.ReportResult, bool) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	res, ok := c.answers[key]
	return res, ok
}
