package markdown

// Hostile is a readout that tries every way into a reader's page: tests of
// the renderer, the readouts page, the Atom feed and the browser use it.
const Hostile = "# <script>alert('h1')</script>\n\n" +
	"Statement <script>document.title='pwned'</script> and <img src=x onerror=\"document.title='pwned'\">\n\n" +
	"- [click](javascript:alert(1)) <a href=\"javascript:alert(2)\">here</a>\n" +
	"- **<iframe src=//example.invalid>** `</code><svg onload=alert(3)>`\n\n" +
	"<style>body{display:none}</style> ]]> &amp; &#x3C;b&#x3E;"
