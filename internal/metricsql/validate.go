package metricsql

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// ErrInvalidQuery is wrapped by every error ValidateQuery returns.
var ErrInvalidQuery = errors.New("invalid query")

// ValidateQuery checks that sql is a single SELECT-like statement (it must
// start with SELECT, WITH, VALUES, TABLE or a parenthesis) and returns it
// without surrounding whitespace and without a trailing semicolon. A
// semicolon anywhere else outside string literals, quoted identifiers,
// dollar-quoted strings and comments is rejected.
//
// This is a guard for clear error messages, not the security boundary:
// queries run in a READ ONLY transaction (see ReadOnly), with bind
// parameters (so the server also refuses several statements at once), and
// should use a read-only database role.
func ValidateQuery(sql string) (string, error) {
	semis, err := scan(sql)
	if err != nil {
		return "", err
	}
	end := len(sql)
	if len(semis) > 0 {
		rest := sql[semis[0]+1:]
		restSemis, err := scan(rest)
		if err != nil {
			return "", err
		}
		if !onlyCommentsAndSpace(rest, restSemis) {
			return "", fmt.Errorf("%w: more than one statement (a semicolon at offset %d is followed by more SQL)", ErrInvalidQuery, semis[0])
		}
		end = semis[0]
	}
	q := strings.TrimSpace(sql[:end])
	first := firstWord(q)
	switch first {
	case "":
		return "", fmt.Errorf("%w: the query is empty", ErrInvalidQuery)
	case "select", "with", "values", "table", "(":
	default:
		return "", fmt.Errorf("%w: the query must be a SELECT (it starts with %q)", ErrInvalidQuery, first)
	}
	return q, nil
}

// scan returns the byte offsets of semicolons outside literals and comments.
func scan(s string) ([]int, error) {
	var semis []int
	n := len(s)
	for i := 0; i < n; {
		c := s[i]
		switch {
		case c == '-' && i+1 < n && s[i+1] == '-':
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				return semis, nil
			}
			i += j + 1
		case c == '/' && i+1 < n && s[i+1] == '*':
			depth, j := 1, i+2
			for depth > 0 {
				if j+1 >= n {
					return nil, fmt.Errorf("%w: unterminated /* comment", ErrInvalidQuery)
				}
				switch {
				case s[j] == '/' && s[j+1] == '*':
					depth++
					j += 2
				case s[j] == '*' && s[j+1] == '/':
					depth--
					j += 2
				default:
					j++
				}
			}
			i = j
		case c == '\'':
			backslash := i > 0 && (s[i-1] == 'e' || s[i-1] == 'E') && (i < 2 || !isIdentChar(s[i-2]))
			j, err := endOfQuoted(s, i, '\'', backslash)
			if err != nil {
				return nil, err
			}
			i = j
		case c == '"':
			j, err := endOfQuoted(s, i, '"', false)
			if err != nil {
				return nil, err
			}
			i = j
		case c == '$' && (i == 0 || !isIdentChar(s[i-1])):
			tag, ok := dollarTag(s[i:])
			if !ok {
				i++
				continue
			}
			j := strings.Index(s[i+len(tag):], tag)
			if j < 0 {
				return nil, fmt.Errorf("%w: unterminated dollar-quoted string %s", ErrInvalidQuery, tag)
			}
			i += len(tag) + j + len(tag)
		case isIdentChar(c):
			// Skip identifiers whole so a '$' inside one is not a quote.
			for i < n && (isIdentChar(s[i]) || s[i] == '$') {
				i++
			}
		case c == ';':
			semis = append(semis, i)
			i++
		default:
			i++
		}
	}
	return semis, nil
}

// endOfQuoted returns the offset just past the quoted token starting at i.
// A doubled quote is an escaped quote; with backslash, \x escapes x.
func endOfQuoted(s string, i int, q byte, backslash bool) (int, error) {
	for j := i + 1; j < len(s); j++ {
		switch {
		case backslash && s[j] == '\\':
			j++
		case s[j] == q:
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1, nil
		}
	}
	what := "string literal"
	if q == '"' {
		what = "quoted identifier"
	}
	return 0, fmt.Errorf("%w: unterminated %s", ErrInvalidQuery, what)
}

// dollarTag returns "$tag$" when s starts with a dollar-quote opener.
func dollarTag(s string) (string, bool) {
	for j := 1; j < len(s); j++ {
		c := s[j]
		switch {
		case c == '$':
			return s[:j+1], true
		case c == '_' || c >= 0x80 || unicode.IsLetter(rune(c)):
		case c >= '0' && c <= '9' && j > 1:
		default:
			return "", false
		}
	}
	return "", false
}

func isIdentChar(c byte) bool {
	return c == '_' || c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func onlyCommentsAndSpace(s string, semis []int) bool {
	return firstWord(stripComments(s, semis)) == ""
}

// stripComments removes comments and the given semicolons; s must scan.
func stripComments(s string, semis []int) string {
	var b strings.Builder
	skip := map[int]bool{}
	for _, i := range semis {
		skip[i] = true
	}
	for i := 0; i < len(s); {
		switch {
		case skip[i]:
			i++
		case strings.HasPrefix(s[i:], "--"):
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				return b.String()
			}
			i += j
		case strings.HasPrefix(s[i:], "/*"):
			depth, j := 1, i+2
			for depth > 0 && j+1 < len(s) {
				switch {
				case strings.HasPrefix(s[j:], "/*"):
					depth++
					j += 2
				case strings.HasPrefix(s[j:], "*/"):
					depth--
					j += 2
				default:
					j++
				}
			}
			i = j
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String()
}

// firstWord returns the first keyword of q, lower-cased, after comments,
// or "(" when q starts with a parenthesis.
func firstWord(q string) string {
	q = strings.TrimSpace(stripComments(q, nil))
	if q == "" {
		return ""
	}
	if q[0] == '(' {
		return "("
	}
	end := 0
	for end < len(q) && isIdentChar(q[end]) {
		end++
	}
	if end == 0 {
		return q[:1]
	}
	return strings.ToLower(q[:end])
}
