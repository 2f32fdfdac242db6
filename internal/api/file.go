package api

import (
	"fmt"
	"strings"
)

// attachment is the Content-Disposition of a download named name: the
// UTF-8 name as RFC 6266 and RFC 8187 have it, and an ASCII fallback for
// old clients.
func attachment(name string) string {
	var fallback, encoded strings.Builder
	for _, r := range name {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '%' {
			fallback.WriteByte('_')
		} else {
			fallback.WriteRune(r)
		}
	}
	const attrChars = "!#$&+-.^_`|~" // RFC 8187 attr-char besides letters and digits
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(attrChars, c) >= 0 {
			encoded.WriteByte(c)
		} else {
			fmt.Fprintf(&encoded, "%%%02X", c)
		}
	}
	return `attachment; filename="` + fallback.String() + `"; filename*=UTF-8''` + encoded.String()
}
