// Package workspace finds the repository root (the directory holding go.work), so
// the launcher and the demo find bin/, fixtures and example files from any working
// directory inside the repository.
package workspace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrNoRoot means no go.work was found in the directory or any parent.
var ErrNoRoot = errors.New("repository root (go.work) not found")

// Root walks up from dir (the working directory when empty) to the first directory
// holding go.work.
func Root(dir string) (string, error) {
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("getting working directory: %w", err)
		}
		dir = wd
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", dir, err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoRoot
		}
		dir = parent
	}
}

// Abs returns p when it is absolute, else p joined to root.
func Abs(root, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(root, p)
}
