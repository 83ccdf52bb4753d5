package markdown

import (
	"strings"
	"testing"
)

func TestHTML(t *testing.T) {
	got := HTML("# Talks\n\nThe sides **agreed** on *three* points:\n- a `ceasefire` line\n- prisoners\n\nMore.")
	want := "<h3>Talks</h3>\n<p>The sides <strong>agreed</strong> on <em>three</em> points:</p>\n<ul>\n<li>a <code>ceasefire</code> line</li>\n<li>prisoners</li>\n</ul>\n<p>More.</p>\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// ownTags are the only tags HTML writes.
var ownTags = []string{"<p>", "</p>", "<ul>", "</ul>", "<li>", "</li>", "<h3>", "</h3>", "<h4>", "</h4>", "<h5>", "</h5>",
	"<em>", "</em>", "<strong>", "</strong>", "<code>", "</code>"}

// foreignTag returns the first '<' of out that starts no tag of ours ("" if none).
func foreignTag(out string) string {
	for i := 0; i < len(out); i++ {
		if out[i] != '<' {
			continue
		}
		ok := false
		for _, tag := range ownTags {
			ok = ok || strings.HasPrefix(out[i:], tag)
		}
		if !ok {
			return out[i:min(len(out), i+20)]
		}
	}
	return ""
}

// TestHostileReadout: markup in a readout stays text: no tag but ours, no
// quote left to close an attribute, the script shown as text.
func TestHostileReadout(t *testing.T) {
	got := HTML(Hostile)
	if f := foreignTag(got); f != "" || strings.ContainsAny(got, `"'`) || !strings.Contains(got, "&lt;script&gt;") {
		t.Fatalf("rendered %q (foreign tag %q)", got, f)
	}
}

func FuzzHTML(f *testing.F) {
	f.Add(Hostile)
	f.Fuzz(func(t *testing.T, s string) {
		if out := HTML(s); foreignTag(out) != "" {
			t.Fatalf("%q renders a foreign tag: %q", s, out)
		}
	})
}
