package schedule

import (
	"archive/zip"
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"sync"
	"time"
)

// zoneinfoZip is the tz database this binary ships: IANA tzdata 2025c, a
// byte-for-byte copy of Go 1.26's $GOROOT/lib/time/zoneinfo.zip (made by
// lib/time/update.bash; each entry a TZif file, RFC 8536, stored
// uncompressed under its zone name). It is the only source LoadZone reads:
// time.LoadLocation would prefer $ZONEINFO and the host's
// /usr/share/zoneinfo and use time/tzdata only as its last fallback, so two
// sides whose hosts carry different zone data could show one call at
// different local times. To update it, copy the file from a newer Go and
// say which tzdata it holds here.
//
//go:embed zoneinfo.zip
var zoneinfoZip []byte

// maxZoneFile bounds one entry read from the embedded zip; the largest
// zone file in it is a few kilobytes.
const maxZoneFile = 64 << 10

var (
	zoneIndex = sync.OnceValues(func() (map[string]*zip.File, error) {
		r, err := zip.NewReader(bytes.NewReader(zoneinfoZip), int64(len(zoneinfoZip)))
		if err != nil {
			return nil, fmt.Errorf("schedule: embedded zoneinfo: %w", err)
		}
		idx := make(map[string]*zip.File, len(r.File))
		for _, f := range r.File {
			idx[f.Name] = f
		}
		return idx, nil
	})
	zoneCache sync.Map // zone name → *time.Location, at most one per entry of the zip
)

// embeddedZone loads name from the embedded tz database only. A name it
// does not hold is ErrZone.
func embeddedZone(name string) (*time.Location, error) {
	if loc, ok := zoneCache.Load(name); ok {
		return loc.(*time.Location), nil
	}
	idx, err := zoneIndex()
	if err != nil {
		return nil, err
	}
	f := idx[name]
	if f == nil {
		return nil, fmt.Errorf("%w %q (want an IANA name like Europe/Moscow)", ErrZone, name)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("schedule: embedded zoneinfo %s: %w", name, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxZoneFile))
	if err != nil {
		return nil, fmt.Errorf("schedule: embedded zoneinfo %s: %w", name, err)
	}
	loc, err := time.LoadLocationFromTZData(name, data)
	if err != nil {
		return nil, fmt.Errorf("schedule: embedded zoneinfo %s: %w", name, err)
	}
	actual, _ := zoneCache.LoadOrStore(name, loc)
	return actual.(*time.Location), nil
}
