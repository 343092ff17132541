//go:build cgo && linux

package pcsc

// ShrinkListBuffer makes Readers' kept buffer too small for any reader
// list, so a test sees Readers grow it.
func (c *Context) ShrinkListBuffer(n int) { c.list = make([]byte, n) }
