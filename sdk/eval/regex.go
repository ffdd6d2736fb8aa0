package eval

import (
	"fmt"
	"regexp"
)

// MaxRegexLen is the longest pattern, in bytes, a matches clause accepts.
const MaxRegexLen = 256

// compileRegex compiles a matches pattern after checking that it is in the
// portable subset every SDK interprets identically (docs/evaluation.md):
// RE2 in Go, ECMAScript with the "su" flags in JavaScript. The pattern is
// matched anywhere in the value unless anchored; "." matches any character
// including newlines.
func compileRegex(p string) (*regexp.Regexp, error) {
	if len(p) > MaxRegexLen {
		return nil, fmt.Errorf("pattern is %d bytes long, at most %d allowed", len(p), MaxRegexLen)
	}
	if err := portableRegex(p); err != nil {
		return nil, err
	}
	re, err := regexp.Compile("(?s)" + p)
	if err != nil {
		return nil, fmt.Errorf("invalid pattern: %v", err)
	}
	return re, nil
}

// portableRegex rejects constructs whose meaning differs between RE2 and
// ECMAScript (or that one of them lacks): flags and other "(?" groups but
// "(?:", \s \S (different whitespace sets), \p \P \Q \E \z \A \C \x \u and
// digit escapes, POSIX classes, escapes of characters that are neither
// syntax characters nor d D w W b B n r t f v, \b \B inside a class, and
// braces that are not a complete {n}, {n,} or {n,m} quantifier.
func portableRegex(p string) error {
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch c {
		case '\\':
			if i+1 == len(p) {
				return fmt.Errorf("trailing backslash")
			}
			i++
			e := p[i]
			switch e {
			case '^', '$', '\\', '.', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '/',
				'd', 'D', 'w', 'W', 'n', 'r', 't', 'f', 'v':
			case 'b', 'B':
				if inClass {
					return fmt.Errorf(`\%c inside a character class is not portable`, e)
				}
			case '-':
				if !inClass {
					return fmt.Errorf(`\- outside a character class is not portable`)
				}
			default:
				return fmt.Errorf(`escape \%c is not portable`, e)
			}
		case '[':
			if inClass {
				if i+1 < len(p) && p[i+1] == ':' {
					return fmt.Errorf("POSIX character classes are not portable")
				}
				return fmt.Errorf("unescaped [ inside a character class is not portable")
			}
			inClass = true
			if i+1 < len(p) && p[i+1] == '^' {
				i++
			}
			if i+1 < len(p) && p[i+1] == ']' {
				return fmt.Errorf("a character class starting with ] is not portable")
			}
		case ']':
			if !inClass {
				return fmt.Errorf("unescaped ] outside a character class")
			}
			inClass = false
		case '(':
			if !inClass && i+1 < len(p) && p[i+1] == '?' {
				if i+2 < len(p) && p[i+2] == ':' {
					i += 2
					continue
				}
				return fmt.Errorf(`only "(?:" groups are portable`)
			}
		case '{':
			if inClass {
				continue
			}
			j := i + 1
			n1, v1 := 0, 0
			for j < len(p) && p[j] >= '0' && p[j] <= '9' && n1 < 5 {
				v1 = v1*10 + int(p[j]-'0')
				j++
				n1++
			}
			v2 := 0
			if n1 > 0 && j < len(p) && p[j] == ',' {
				j++
				for n2 := 0; j < len(p) && p[j] >= '0' && p[j] <= '9' && n2 < 5; n2++ {
					v2 = v2*10 + int(p[j]-'0')
					j++
				}
			}
			if n1 == 0 || j >= len(p) || p[j] != '}' {
				return fmt.Errorf("{ must start a {n}, {n,} or {n,m} quantifier (escape a literal brace)")
			}
			if v1 > 1000 || v2 > 1000 {
				return fmt.Errorf("repeat counts above 1000 are not allowed")
			}
			i = j
		case '}':
			if !inClass {
				return fmt.Errorf("unescaped } (escape a literal brace)")
			}
		}
	}
	if inClass {
		return fmt.Errorf("unterminated character class")
	}
	return nil
}
