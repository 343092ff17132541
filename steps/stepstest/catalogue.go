package stepstest

import (
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/keywizard/keywizard/steps/catalogue"
)

// frozenPath is the frozen catalogue under steps/catalogue/testdata, found
// from this file's own path so tests of any package can read it (a test's
// working directory is its own package's).
func frozenPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "catalogue", "testdata", "frozen.json")
}

var frozen = sync.OnceValues(func() (*catalogue.Catalogue, error) {
	data, err := os.ReadFile(frozenPath())
	if err != nil {
		return nil, err
	}
	return catalogue.Parse("frozen.json", data)
})

// Catalogue returns the frozen test catalogue (Google, AWS, 1Password,
// GitHub, macOS login, as the default was when it was frozen): tests and
// goldens run over it rather than the embedded default, so adding a service
// to the default changes none of them. It panics if the file is missing or
// invalid, which is a defect of the source tree.
func Catalogue() *catalogue.Catalogue {
	c, err := frozen()
	if err != nil {
		panic("stepstest: the frozen catalogue: " + err.Error())
	}
	return c.Clone()
}
