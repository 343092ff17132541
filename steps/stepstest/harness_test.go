package stepstest_test

import (
	"testing"

	"github.com/keywizard/keywizard/steps"
	"github.com/keywizard/keywizard/steps/stepstest"
)

func TestHarnessAdvanceTo(t *testing.T) {
	for _, goos := range []string{"darwin", "linux"} {
		ids := []steps.StepID{}
		for _, st := range stepstest.NewHarness(t, goos).W.Snapshot().Steps {
			ids = append(ids, st.ID)
		}
		for i, id := range ids {
			t.Run(goos+"/"+string(id), func(t *testing.T) {
				h := stepstest.NewHarness(t, goos)
				h.AdvanceTo(t, id)
				s := h.W.Snapshot()
				if s.Current != id {
					t.Fatalf("current %q", s.Current)
				}
				for _, st := range s.Steps[:i] {
					if st.Status != steps.StatusDone && st.Status != steps.StatusNotApplicable {
						t.Errorf("step %s before %s is %s (%s)", st.ID, id, st.Status, st.Reason)
					}
				}
				for _, st := range s.Steps[i+1:] {
					if st.Status == steps.StatusDone {
						t.Errorf("step %s after %s is already done", st.ID, id)
					}
				}
			})
		}
	}
}
