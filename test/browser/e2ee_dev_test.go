package browser

// DEV ONLY — delete before handing in: serves stand-ins for the e2ee modules
// others are writing, from /tmp/e2ee-dev, while the embedded ones are missing.

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"strings"

	"hotline/internal/web"
)

func init() {
	e2eeStatic = func() http.Handler {
		real := web.Handler()
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/static/e2ee/") {
				rec := httptest.NewRecorder()
				real.ServeHTTP(rec, r)
				if rec.Code == http.StatusNotFound {
					b, err := os.ReadFile("/tmp/e2ee-dev/" + path.Base(r.URL.Path))
					if err == nil {
						w.Header().Set("Content-Type", "text/javascript")
						w.Write(b)
						return
					}
				}
			}
			real.ServeHTTP(w, r)
		})
	}
}
