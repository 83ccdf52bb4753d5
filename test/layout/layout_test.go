// Package layout checks the house rules of ../shared/CONVENTIONS.md that a
// reviewer would otherwise count by hand: no source file over 600 lines
// (tests and vendored code aside), and no package named for nothing in
// particular.
package layout

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const maxLines = 600

// root is the module's root, two folders up from this package.
func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("no go.mod at %s: %v", dir, err)
	}
	return dir
}

// TestFileLength: every Go source file that is not a test, and every
// script of the web client except vendored ones, has at most 600 lines.
func TestFileLength(t *testing.T) {
	dir := root(t)
	checked := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			if name := d.Name(); rel != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		goSource := strings.HasSuffix(rel, ".go") && !strings.HasSuffix(rel, "_test.go")
		script := strings.HasSuffix(rel, ".js") && strings.Contains(filepath.ToSlash(rel), "internal/web/static/")
		if !goSource && !script {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		if n := bytes.Count(b, []byte("\n")); n > maxLines {
			t.Errorf("%s has %d lines; split it by what its parts are (at most %d)", rel, n, maxLines)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("only %d files checked: the walk missed the sources", checked)
	}
}

// TestPackageNames: no package is named util, common, helpers or misc.
func TestPackageNames(t *testing.T) {
	dir := root(t)
	banned := map[string]bool{"util": true, "utils": true, "common": true, "helpers": true, "helper": true, "misc": true}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && banned[strings.ToLower(d.Name())] {
			rel, _ := filepath.Rel(dir, path)
			t.Errorf("%s: a package named for nothing in particular (CONVENTIONS.md)", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
