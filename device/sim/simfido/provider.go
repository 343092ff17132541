package simfido

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/keywizard/keywizard/device"
	"github.com/keywizard/keywizard/device/fido"
)

// Provider is the simulator's registry of authenticators implementing
// [fido.Provider]: Locations lists the plugged-in ones by path
// "sim:<serial>", as libfido2's manifest lists HID paths.
type Provider struct {
	mu   sync.Mutex
	keys map[string]*Authenticator
}

var _ fido.Provider = (*Provider)(nil)

// NewProvider returns a provider holding auths.
func NewProvider(auths ...*Authenticator) *Provider {
	p := &Provider{keys: map[string]*Authenticator{}}
	for _, a := range auths {
		p.Add(a)
	}
	return p
}

// Add registers a (replacing one with the same path).
func (p *Provider) Add(a *Authenticator) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys[a.Path()] = a
}

// Delete forgets the authenticator at path.
func (p *Provider) Delete(path string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.keys, path)
}

// Get returns the authenticator at path whether or not it is plugged in.
func (p *Provider) Get(path string) (*Authenticator, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.keys[path]
	return a, ok
}

// Locations lists the plugged-in authenticators, sorted by path.
func (p *Provider) Locations(ctx context.Context) ([]fido.Location, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	auths := make([]*Authenticator, 0, len(p.keys))
	for _, a := range p.keys {
		auths = append(auths, a)
	}
	p.mu.Unlock()
	locs := []fido.Location{}
	for _, a := range auths {
		if a.Present() {
			locs = append(locs, a.Location())
		}
	}
	sort.Slice(locs, func(i, j int) bool { return locs[i].Path < locs[j].Path })
	return locs, nil
}

// Open returns the authenticator at path; ErrNotFound when there is none
// or it is unplugged.
func (p *Provider) Open(ctx context.Context, path string) (fido.Authenticator, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a, ok := p.Get(path)
	if !ok || !a.Present() {
		return nil, fmt.Errorf("opening FIDO device %s: no such device is plugged in: %w", path, device.ErrNotFound)
	}
	return a, nil
}
