//go:build ignore

// rss-profile says which parts of a running Go binary are resident: for the
// process PID, its RssAnon and RssFile (/proc/PID/status), then the
// binary's own resident pages (the present bit of /proc/PID/pagemap for
// every page the binary's mappings cover) by ELF section and by the Go
// package of the symbol each page starts in (the binary's symbol table).
// docs/PERFORMANCE.md ("Memory") reads a running server with it:
//
//	go run scripts/rss-profile.go PID
package main

import (
	"bufio"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"log"
	"os"
	"sort"
	"strconv"
	"strings"
)

const page = 4096

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: go run scripts/rss-profile.go PID")
	}
	pid := os.Args[1]
	if _, err := strconv.Atoi(pid); err != nil {
		log.Fatalf("not a process id: %q", pid)
	}
	exe, err := os.Readlink("/proc/" + pid + "/exe")
	if err != nil {
		log.Fatal(err)
	}
	f, err := elf.Open("/proc/" + pid + "/exe")
	if err != nil {
		log.Fatal(err)
	}
	syms, err := f.Symbols()
	if err != nil {
		log.Fatalf("%s: %v (a stripped binary has no symbols)", exe, err)
	}
	sort.Slice(syms, func(i, j int) bool { return syms[i].Value < syms[j].Value })

	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "VmRSS") || strings.HasPrefix(l, "RssAnon") || strings.HasPrefix(l, "RssFile") {
			fmt.Println(strings.Join(strings.Fields(l), " "))
		}
	}

	maps, err := os.Open("/proc/" + pid + "/maps")
	if err != nil {
		log.Fatal(err)
	}
	defer maps.Close()
	pagemap, err := os.Open("/proc/" + pid + "/pagemap")
	if err != nil {
		log.Fatal(err)
	}
	defer pagemap.Close()

	bySection, byPackage := map[string]int{}, map[string]int{}
	total := 0
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil {
			log.Fatalf("maps line %q", sc.Text())
		}
		entry := make([]byte, 8)
		for p := start; p < end; p += page {
			if _, err := pagemap.ReadAt(entry, int64(p/page*8)); err != nil {
				log.Fatal(err)
			}
			if binary.LittleEndian.Uint64(entry)>>63 == 0 {
				continue // not present
			}
			total += page
			bySection[sectionOf(f, p)] += page
			byPackage[packageOf(symbolAt(syms, p))] += page
		}
	}
	if err := sc.Err(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("\n%s: %.1f MB of its pages resident\n\nby section:\n", exe, mb(total))
	top(bySection, 10)
	fmt.Println("\nby package of the symbol a page starts in (tables such as runtime.pclntab are one symbol):")
	top(byPackage, 25)
}

func sectionOf(f *elf.File, addr uint64) string {
	for _, s := range f.Sections {
		if s.Addr != 0 && addr >= s.Addr && addr < s.Addr+s.Size {
			return s.Name
		}
	}
	return "(between sections)"
}

// symbolAt is the symbol that covers addr, or the nearest one before it.
func symbolAt(syms []elf.Symbol, addr uint64) string {
	i := sort.Search(len(syms), func(i int) bool { return syms[i].Value > addr }) - 1
	if i < 0 {
		return "?"
	}
	return syms[i].Name
}

// packageOf is a Go symbol's package path ("runtime", "github.com/pion/ice/v4");
// a table such as runtime.pclntab or runtime.types is kept whole, and
// generated symbols ("go:string.*", "type:*") by their prefix.
func packageOf(name string) string {
	switch name {
	case "runtime.pclntab", "runtime.types", "runtime.rodata", "runtime.noptrdata", "runtime.data":
		return name
	}
	if pfx, _, ok := strings.Cut(name, ":"); ok && !strings.ContainsAny(pfx, "./") {
		return pfx + ":"
	}
	slash := strings.LastIndex(name, "/")
	if dot := strings.Index(name[slash+1:], "."); dot >= 0 {
		return name[:slash+1+dot]
	}
	return name
}

func top(m map[string]int, n int) {
	type kv struct {
		k string
		v int
	}
	var list []kv
	for k, v := range m {
		list = append(list, kv{k, v})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].v > list[j].v || list[i].v == list[j].v && list[i].k < list[j].k })
	rest := 0
	for i, e := range list {
		if i < n {
			fmt.Printf("  %6.2f MB  %s\n", mb(e.v), e.k)
		} else {
			rest += e.v
		}
	}
	if rest > 0 {
		fmt.Printf("  %6.2f MB  %d others\n", mb(rest), len(list)-n)
	}
}

func mb(n int) float64 { return float64(n) / 1e6 }
