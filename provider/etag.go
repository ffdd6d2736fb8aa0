package provider

// ifNoneMatch reports whether an If-None-Match header (all its field
// lines) matches etag, as RFC 9110 section 13.1.2 says: "*" matches any
// current representation, otherwise a comma-separated list of entity tags
// is compared weakly (a W/ prefix on either side is ignored). A malformed
// list matches nothing from the first bad element on, so the client gets
// a full answer rather than a wrong 304.
func ifNoneMatch(lines []string, etag string) bool {
	want := opaqueTag(etag)
	for _, line := range lines {
		for i := 0; i < len(line); {
			switch c := line[i]; {
			case c == ' ' || c == '\t' || c == ',':
				i++
				continue
			case c == '*':
				return true
			}
			if len(line)-i >= 2 && line[i] == 'W' && line[i+1] == '/' {
				i += 2
			}
			if i >= len(line) || line[i] != '"' {
				break
			}
			end := i + 1
			for end < len(line) && line[end] != '"' {
				end++
			}
			if end >= len(line) {
				break
			}
			if line[i:end+1] == want {
				return true
			}
			i = end + 1
		}
	}
	return false
}

// opaqueTag strips a weak prefix: `W/"x"` -> `"x"`.
func opaqueTag(etag string) string {
	if len(etag) > 2 && etag[0] == 'W' && etag[1] == '/' {
		return etag[2:]
	}
	return etag
}
