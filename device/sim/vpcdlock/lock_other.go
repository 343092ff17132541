//go:build !unix

package vpcdlock

import (
	"context"
	"fmt"

	"github.com/keywizard/keywizard/device"
)

// LockFile is where the vpcd lock lives on Unix; vpcd (vsmartcard's virtual
// reader) is a pcsc-lite driver, so the simulator attaches only there.
const LockFile = ""

// Lock reports that virtual readers are not available here.
func Lock(ctx context.Context) (unlock func(), err error) {
	return nil, fmt.Errorf("simulated keys need pcsc-lite with vsmartcard-vpcd (Linux): %w", device.ErrUnsupported)
}
