package steps

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/tracker"
)

func sample() *Progress {
	p := newProgress()
	p.Person = &Person{Name: "Alice", Email: "alice@example.com", StartDate: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), Accounts: map[string]string{"github": "alice-gh"}}
	p.Keys = []AssignedKey{{Serial: 12345678, Model: "YubiKey 5C Nano", Role: RoleEveryday}, {Serial: 23456789, Model: "YubiKey 5C NFC", Role: RoleBackup, HasNFC: true}}
	p.Current = "github"
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	p.item("google", 12345678).Evidence = &Evidence{Level: VerifiedOnKey, Detail: "passkey", At: at}
	p.item("github", 23456789).OpenedAt = at
	p.PIV[12345678] = &PIVRecord{Identities: []string{"AB", "CD"}, ProvisionedAt: at}
	p.Report = ReportRecord{Pending: true, LastAttempt: at}
	return p
}

func TestFileStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := &FileStore{Path: filepath.Join(t.TempDir(), "keywizard", "progress.json")}
	if _, err := s.Load(ctx); !errors.Is(err, ErrNoProgress) {
		t.Fatalf("empty store: %v", err)
	}
	p := sample()
	if err := s.Save(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, p) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, p)
	}
	fi, err := os.Stat(s.Path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(filepath.Dir(s.Path)); di.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", di.Mode().Perm())
	}
	// Saving again replaces the file and leaves no temporary files.
	p.Current = "aws"
	if err := s.Save(ctx, p); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(s.Path))
	if len(entries) != 1 || entries[0].Name() != "progress.json" {
		t.Errorf("directory holds %v", entries)
	}
	if got, _ := s.Load(ctx); got.Current != "aws" {
		t.Errorf("second save not read: %q", got.Current)
	}
}

func TestFileStoreDamaged(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for name, data := range map[string]string{
		"not json":      `{"schema":1,`,
		"newer schema":  `{"schema":2}`,
		"no schema":     `{"keys":[]}`,
		"bad role":      `{"schema":1,"keys":[{"serial":1,"role":"spare"}]}`,
		"dup role":      `{"schema":1,"keys":[{"serial":1,"role":"backup"},{"serial":2,"role":"backup"}]}`,
		"dup serial":    `{"schema":1,"keys":[{"serial":1,"role":"everyday"},{"serial":1,"role":"backup"}]}`,
		"bad level":     `{"schema":1,"items":{"google":{"1":{"evidence":{"level":"trust-me"}}}}}`,
		"null item":     `{"schema":1,"items":{"google":{"1":null}}}`,
		"serial string": `{"schema":1,"items":{"google":{"x":{}}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			s := &FileStore{Path: filepath.Join(dir, name+".json")}
			if err := os.WriteFile(s.Path, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := s.Load(ctx)
			if !errors.Is(err, ErrDamagedProgress) {
				t.Fatalf("err = %v", err)
			}
			// The wizard refuses to start over it rather than overwrite it.
			if _, err := New(ctx, Options{Keys: nopKeys{}, Browser: nop{}, Prompter: nop{}, Reporter: nop{}, Store: s}); !errors.Is(err, ErrDamagedProgress) {
				t.Fatalf("New: %v", err)
			}
			if got, _ := os.ReadFile(s.Path); string(got) != data {
				t.Error("damaged file was overwritten")
			}
			// Starting over sets the file aside intact and the wizard then
			// starts from the beginning.
			aside, err := s.SetAside(time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC))
			if err != nil {
				t.Fatal(err)
			}
			if want := s.Path + ".damaged-20261201-093000"; aside != want {
				t.Errorf("set aside as %s, want %s", aside, want)
			}
			if got, _ := os.ReadFile(aside); string(got) != data {
				t.Errorf("set-aside file holds %q, want the damaged file unchanged", got)
			}
			if _, err := New(ctx, Options{Keys: nopKeys{}, Browser: nop{}, Prompter: nop{}, Reporter: nop{}, Store: s}); err != nil {
				t.Fatalf("New after SetAside: %v", err)
			}
		})
	}
	// Nothing to set aside: an error, not a silent success.
	if _, err := (&FileStore{Path: filepath.Join(dir, "missing.json")}).SetAside(time.Now()); err == nil {
		t.Error("SetAside of a missing file succeeded")
	}
}

// failingStore fails every Save.
type failingStore struct{ *FileStore }

func (failingStore) Save(context.Context, *Progress) error { return errors.New("disk full") }

func TestSaveFailureIsReported(t *testing.T) {
	ctx := context.Background()
	w, err := New(ctx, Options{Keys: nopKeys{}, Browser: nop{}, Prompter: nop{}, Reporter: nop{}, Store: failingStore{&FileStore{Path: filepath.Join(t.TempDir(), "p.json")}}})
	if err != nil {
		t.Fatal(err)
	}
	err = w.Start(ctx, Person{Name: "A", Email: "a@example.com", StartDate: time.Now()})
	if err == nil || !strings.Contains(err.Error(), "saving your progress") || w.Snapshot().Person.Name != "A" {
		t.Fatalf("err = %v; in-memory state must stay", err)
	}
}

func TestLevelsAndRolesMatchTracker(t *testing.T) {
	// The report's values are the tracker's; a rename on either side must
	// fail here, not in production.
	if string(VerifiedOnKey) != string(tracker.EvidenceOnKey) || string(VerifiedBySystem) != string(tracker.EvidenceBySystem) || string(SelfAttested) != string(tracker.EvidenceSelf) {
		t.Error("evidence levels differ from the tracker's")
	}
	if string(RoleEveryday) != string(tracker.RoleEveryday) || string(RoleBackup) != string(tracker.RoleBackup) {
		t.Error("roles differ from the tracker's")
	}
	if string(StepOTP) != tracker.ServiceOTP {
		t.Error("OTP service ID differs from the tracker's")
	}
	if deadline(time.Time{}).Sub(time.Time{}) != tracker.OverdueAfter {
		t.Error("deadline differs from the tracker's OverdueAfter")
	}
}

func TestSuggestRoles(t *testing.T) {
	k := func(serial uint32, ff device.FormFactor) device.Key {
		return device.Key{Serial: serial, Info: device.Info{FormFactor: ff}}
	}
	tests := []struct {
		name string
		keys []device.Key
		want map[uint32]Role
	}{
		{"nano and nfc", []device.Key{k(2, device.FormUSBCKeychain), k(1, device.FormUSBCNano)}, map[uint32]Role{1: RoleEveryday, 2: RoleBackup}},
		{"nano and 5ci", []device.Key{k(1, device.FormUSBCLightning), k(9, device.FormUSBCNano)}, map[uint32]Role{9: RoleEveryday, 1: RoleBackup}},
		{"usb-a nano", []device.Key{k(5, device.FormUSBANano), k(3, device.FormUSBAKeychain)}, map[uint32]Role{5: RoleEveryday, 3: RoleBackup}},
		{"two keychains", []device.Key{k(7, device.FormUSBCKeychain), k(3, device.FormUSBCKeychain)}, map[uint32]Role{3: RoleEveryday, 7: RoleBackup}},
		{"two nanos", []device.Key{k(7, device.FormUSBCNano), k(3, device.FormUSBCNano)}, map[uint32]Role{3: RoleEveryday, 7: RoleBackup}},
		{"only nano", []device.Key{k(7, device.FormUSBCNano)}, map[uint32]Role{7: RoleEveryday}},
		{"only nfc", []device.Key{k(7, device.FormUSBCKeychain)}, map[uint32]Role{7: RoleBackup}},
		{"three", []device.Key{k(7, device.FormUSBCKeychain), k(3, device.FormUSBCNano), k(1, device.FormUSBCKeychain)}, map[uint32]Role{3: RoleEveryday, 1: RoleBackup}},
		{"none", nil, map[uint32]Role{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := suggestRoles(tt.keys); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPINRules(t *testing.T) {
	for _, tt := range []struct {
		pin  string
		min  int
		okay bool
	}{
		{"1234", 0, true}, {"123", 0, false}, {"ééé", 3, true}, {"éé", 3, false},
		{strings.Repeat("1", 63), 4, true}, {strings.Repeat("1", 64), 4, false}, {"12345", 6, false},
		// One rule everywhere (device.FIDO2PINRule): no NUL, valid UTF-8.
		{string(make([]byte, 63)), 4, false}, {"12\x0034", 4, false}, {"\xff\xfe\xfd\xfc", 4, false},
	} {
		if err := checkFIDOPIN(tt.pin, tt.min); (err == nil) != tt.okay || (err != nil && !errors.Is(err, device.ErrPINPolicy)) {
			t.Errorf("FIDO %q min %d: %v", tt.pin, tt.min, err)
		}
	}
	for _, tt := range []struct {
		pin  string
		okay bool
	}{{"483920", true}, {"12345678", true}, {"12345", false}, {"123456789", false}, {"12a456", false}, {"123456", false}, {"", false}} {
		if err := checkPIVPIN(tt.pin); (err == nil) != tt.okay {
			t.Errorf("PIV PIN %q: %v", tt.pin, err)
		}
	}
	for _, tt := range []struct {
		puk, pin string
		okay     bool
	}{{"73920184", "483920", true}, {"12345678", "483920", false}, {"483920", "483920", false}, {"12345", "483920", false}, {"abcdefgh", "483920", true}} {
		if err := checkPUK(tt.puk, tt.pin); (err == nil) != tt.okay {
			t.Errorf("PUK %q: %v", tt.puk, err)
		}
	}
}

// FuzzDecodeProgress: any bytes decode or give ErrDamagedProgress, and what
// decodes survives a save/load round trip unchanged.
func FuzzDecodeProgress(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := decodeProgress(data)
		if err != nil {
			if !errors.Is(err, ErrDamagedProgress) {
				t.Fatalf("error not ErrDamagedProgress: %v", err)
			}
			return
		}
		// Saving what was loaded is stable: the saved form of the
		// reloaded progress is the same bytes.
		a, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := decodeProgress(a)
		if err != nil {
			t.Fatalf("saved form does not load: %v\n%s", err, a)
		}
		b, _ := json.Marshal(q)
		if string(a) != string(b) {
			t.Fatalf("round trip differs:\n%s\n%s", a, b)
		}
	})
}

type nop struct{}

func (nop) Open(string) error                                     { return nil }
func (nop) PIN(context.Context, PINRequest) (string, error)       { return "", ErrCancelled }
func (nop) Confirm(context.Context, ConfirmRequest) (bool, error) { return false, nil }
func (nop) TouchKey(KeyRef, bool)                                 {}
func (nop) Report(context.Context, Report) error                  { return nil }

type nopKeys struct{ Keys }
