// Package markdown renders the small part of Markdown a readout needs —
// headings, paragraphs, bullet lists, emphasis, strong, code — to HTML that
// cannot carry markup of its own: the text is HTML-escaped first, and only
// the tags this package writes are ever tags. Anything else (raw HTML,
// links, images) stays visible as the text it is: a readout is a press
// release, and one side's text must never run script or load anything in a
// reader's browser.
package markdown

import (
	"html"
	"regexp"
	"strings"
)

// inline rules, applied to escaped text (no '<', '>', '"' or '&' of the
// author's survives as such, so the patterns can only wrap text).
var inline = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile("`([^`]+)`"), "<code>$1</code>"},
	{regexp.MustCompile(`\*\*([^*]+)\*\*`), "<strong>$1</strong>"},
	{regexp.MustCompile(`\*([^*\s][^*]*)\*`), "<em>$1</em>"},
}

func renderInline(s string) string {
	s = html.EscapeString(s)
	for _, r := range inline {
		s = r.re.ReplaceAllString(s, r.repl)
	}
	return s
}

// HTML renders text. Blocks are separated by blank lines; a line starting
// with "# ", "## " or "### " is a heading (h3 to h5: the page has its own
// h1 and h2), a run of lines starting with "- " or "* " a list, other runs
// of lines a paragraph.
func HTML(text string) string {
	var b strings.Builder
	var para, list []string
	flush := func() {
		if len(para) > 0 {
			b.WriteString("<p>" + renderInline(strings.Join(para, " ")) + "</p>\n")
			para = nil
		}
		if len(list) > 0 {
			b.WriteString("<ul>\n")
			for _, it := range list {
				b.WriteString("<li>" + renderInline(it) + "</li>\n")
			}
			b.WriteString("</ul>\n")
			list = nil
		}
	}
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		t := strings.TrimSpace(line)
		switch {
		case t == "":
			flush()
		case strings.HasPrefix(t, "### "), strings.HasPrefix(t, "## "), strings.HasPrefix(t, "# "):
			flush()
			level := strings.Index(t, " ")
			tag := []string{"", "h3", "h4", "h5"}[level]
			b.WriteString("<" + tag + ">" + renderInline(strings.TrimSpace(t[level:])) + "</" + tag + ">\n")
		case strings.HasPrefix(t, "- "), strings.HasPrefix(t, "* "):
			if len(para) > 0 {
				flush()
			}
			list = append(list, strings.TrimSpace(t[2:]))
		default:
			if len(list) > 0 {
				flush()
			}
			para = append(para, t)
		}
	}
	flush()
	return b.String()
}
