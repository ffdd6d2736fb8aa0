package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/waypost/waypost/sdk/eval"
)

// ofrepCtx is one OFREP request's body and decoded evaluation context,
// pooled so that the usual request allocates nothing: the body buffer,
// the decoded attributes and the response buffer are reused.
//
// The fast decoder (decodeFast) reads the common body, {"context":{...}}
// with flat scalar or list attributes and no escapes, straight into
// ctx.Attrs; its strings point into body, so ctx is only valid until the
// ofrepCtx goes back to the pool. Anything else (escapes, nested objects,
// duplicate names, invalid JSON) goes through encoding/json exactly as
// before (readContextSlow), errors included.
type ofrepCtx struct {
	body  []byte
	attrs []eval.Attr
	elems []eval.Attr // list elements of attrs
	out   []byte      // response body
	ctx   eval.Context
	fast  bool // ctx came from decodeFast
}

var ctxPool = sync.Pool{New: func() any {
	return &ofrepCtx{body: make([]byte, 0, 512), attrs: make([]eval.Attr, 0, 16), out: make([]byte, 0, 256)}
}}

func getOFREPCtx() *ofrepCtx { return ctxPool.Get().(*ofrepCtx) }

// release returns c to the pool; c.ctx must not be used afterwards.
func (c *ofrepCtx) release() {
	if cap(c.body) > 2*maxOFREPBody || cap(c.attrs) > 1024 || cap(c.out) > 64<<10 {
		return // let an unusually large request's buffers go
	}
	c.ctx = eval.Context{}
	clear(c.attrs[:cap(c.attrs)]) // drop references into the old body
	clear(c.elems[:cap(c.elems)])
	ctxPool.Put(c)
}

// read reads the request body and decodes the context; it returns an
// OFREP error code and details, or "" on success.
func (c *ofrepCtx) read(r *http.Request) (code, details string) {
	body := c.body[:0]
	for {
		if len(body) == cap(body) {
			body = append(body, 0)[:len(body)]
		}
		n, err := r.Body.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		if len(body) > maxOFREPBody {
			c.body = body[:0]
			return "GENERAL", "request body too large"
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			c.body = body[:0]
			return "GENERAL", "could not read the request body"
		}
	}
	c.body = body
	return c.decode()
}

// decode decodes c.body into c.ctx.
func (c *ofrepCtx) decode() (code, details string) {
	c.ctx = eval.Context{}
	if c.decodeFast() {
		c.fast = true
		return "", ""
	}
	c.fast = false
	c.ctx = eval.Context{}
	c.ctx, code, details = readContextSlow(c.body)
	return code, details
}

// decodeFast decodes the common body; false means "not handled here"
// (c.ctx is then to be ignored), never "invalid".
func (c *ofrepCtx) decodeFast() bool {
	d := fastDec{b: c.body}
	c.attrs, c.elems = c.attrs[:0], c.elems[:0]
	d.ws()
	if d.eof() {
		return true // empty body: empty context
	}
	if !d.lit('{') {
		return false
	}
	d.ws()
	if d.lit('}') {
		d.ws()
		return d.eof()
	}
	key, ok := d.str()
	if !ok || key != "context" {
		return false // other or case-folded members: encoding/json decides
	}
	d.ws()
	if !d.lit(':') {
		return false
	}
	d.ws()
	if d.word("null") {
		// "context": null is no context.
	} else if !c.object(&d) {
		return false
	}
	d.ws()
	if !d.lit('}') {
		return false
	}
	d.ws()
	if !d.eof() {
		return false
	}
	attrs := c.attrs
	slices.SortFunc(attrs, func(a, b eval.Attr) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(attrs); i++ {
		if attrs[i].Name == attrs[i-1].Name {
			return false // duplicate names: the last one wins in encoding/json
		}
	}
	if len(attrs) > 0 {
		c.ctx.Attrs = attrs
	}
	return true
}

// object decodes the context object's members into c.attrs.
func (c *ofrepCtx) object(d *fastDec) bool {
	if !d.lit('{') {
		return false
	}
	d.ws()
	if d.lit('}') {
		return true
	}
	for {
		name, ok := d.str()
		if !ok || name == "" || len(name) > eval.MaxAttributeLen {
			return false
		}
		d.ws()
		if !d.lit(':') {
			return false
		}
		d.ws()
		a, ok := c.value(d, true)
		if !ok {
			return false
		}
		if name == eval.TargetingKeyAttribute {
			if a.Kind != eval.AttrString || c.ctx.TargetingKey != "" {
				return false // not a string (an error), or given twice
			}
			c.ctx.TargetingKey = a.Str
			if a.Str == "" {
				return false // an empty key given twice would go unnoticed
			}
		} else {
			a.Name = name
			c.attrs = append(c.attrs, a)
		}
		d.ws()
		if d.lit(',') {
			d.ws()
			continue
		}
		return d.lit('}')
	}
}

// value decodes a scalar, or at the top a list of scalars.
func (c *ofrepCtx) value(d *fastDec, top bool) (eval.Attr, bool) {
	if d.eof() {
		return eval.Attr{}, false
	}
	switch ch := d.b[d.i]; {
	case ch == '"':
		s, ok := d.str()
		return eval.Attr{Kind: eval.AttrString, Str: s}, ok
	case ch == 't':
		return eval.Attr{Kind: eval.AttrBool, Bool: true}, d.word("true")
	case ch == 'f':
		return eval.Attr{Kind: eval.AttrBool}, d.word("false")
	case ch == 'n':
		return eval.Attr{Kind: eval.AttrNull}, d.word("null")
	case ch == '-' || (ch >= '0' && ch <= '9'):
		f, ok := d.num()
		return eval.Attr{Kind: eval.AttrNumber, Num: f}, ok
	case ch == '[' && top:
		d.i++
		start := len(c.elems)
		d.ws()
		if !d.lit(']') {
			for {
				e, ok := c.value(d, false)
				if !ok {
					return eval.Attr{}, false
				}
				c.elems = append(c.elems, e)
				d.ws()
				if d.lit(',') {
					d.ws()
					continue
				}
				if !d.lit(']') {
					return eval.Attr{}, false
				}
				break
			}
		}
		return eval.Attr{Kind: eval.AttrList, List: c.elems[start:len(c.elems):len(c.elems)]}, true
	}
	return eval.Attr{}, false // objects, nested lists: encoding/json
}

// fastDec is a cursor over a JSON text.
type fastDec struct {
	b []byte
	i int
}

func (d *fastDec) eof() bool { return d.i >= len(d.b) }

func (d *fastDec) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *fastDec) lit(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *fastDec) word(w string) bool {
	if len(d.b)-d.i >= len(w) && string(d.b[d.i:d.i+len(w)]) == w {
		d.i += len(w)
		return true
	}
	return false
}

// str reads a string without escapes or control characters, in valid
// UTF-8; the result shares the body's memory.
func (d *fastDec) str() (string, bool) {
	if !d.lit('"') {
		return "", false
	}
	start := d.i
	ascii := true
	for ; d.i < len(d.b); d.i++ {
		switch c := d.b[d.i]; {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			if !ascii && !utf8.Valid(s) {
				return "", false // encoding/json substitutes U+FFFD
			}
			if len(s) == 0 {
				return "", true
			}
			return unsafe.String(&s[0], len(s)), true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= 0x80:
			ascii = false
		}
	}
	return "", false
}

// num reads a JSON number (RFC 8259 grammar) as a float64.
func (d *fastDec) num() (float64, bool) {
	start := d.i
	d.lit('-')
	switch {
	case d.lit('0'):
	case d.digits() == 0:
		return 0, false
	}
	if d.lit('.') && d.digits() == 0 {
		return 0, false
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if !d.lit('+') {
			d.lit('-')
		}
		if d.digits() == 0 {
			return 0, false
		}
	}
	s := d.b[start:d.i]
	f, err := strconv.ParseFloat(unsafe.String(&s[0], len(s)), 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

func (d *fastDec) digits() int {
	n := 0
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
		n++
	}
	return n
}

// readContextSlow parses {"context":{...}} with encoding/json; it returns
// the evaluation context, or an OFREP error code and details.
func readContextSlow(body []byte) (ctx eval.Context, code, details string) {
	if len(bytes.TrimSpace(body)) == 0 {
		return ctx, "", ""
	}
	var in ofrepBody
	if err := json.Unmarshal(body, &in); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) && strings.HasPrefix(typ.Field, "context") {
			return ctx, "INVALID_CONTEXT", "context must be a JSON object"
		}
		return ctx, "PARSE_ERROR", "the body must be a JSON object: " + err.Error()
	}
	if in.Context == nil || *in.Context == nil {
		return ctx, "", ""
	}
	attrs := *in.Context
	if v, ok := attrs[eval.TargetingKeyAttribute]; ok {
		tk, isString := v.(string)
		if !isString {
			return ctx, "INVALID_CONTEXT", "targetingKey must be a string"
		}
		ctx.TargetingKey = tk
		delete(attrs, eval.TargetingKeyAttribute)
	}
	if len(attrs) > 0 {
		for name := range attrs {
			if name == "" || len(name) > eval.MaxAttributeLen {
				return ctx, "INVALID_CONTEXT", "attribute names must be 1.." + strconv.Itoa(eval.MaxAttributeLen) + " bytes"
			}
		}
		ctx.Attributes = attrs
	}
	return ctx, "", ""
}

// appendContextJSON appends the context's attributes as json.Marshal
// encodes the equivalent map (sorted names, the same escaping and number
// format), so that the bulk ETag is the same whichever decoder ran.
func appendContextJSON(b []byte, ctx *eval.Context) ([]byte, error) {
	if ctx.Attrs == nil {
		if ctx.Attributes == nil {
			return b, nil
		}
		raw, err := json.Marshal(ctx.Attributes)
		return append(b, raw...), err
	}
	b = append(b, '{')
	for i := range ctx.Attrs {
		a := &ctx.Attrs[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, a.Name)
		b = append(b, ':')
		b = appendAttrJSON(b, a)
		if a.Kind == eval.AttrList {
			b = append(b, '[')
			for j := range a.List {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendAttrJSON(b, &a.List[j])
			}
			b = append(b, ']')
		}
	}
	return append(b, '}'), nil
}

func appendAttrJSON(b []byte, a *eval.Attr) []byte {
	switch a.Kind {
	case eval.AttrString:
		return appendJSONString(b, a.Str)
	case eval.AttrNumber:
		return appendJSONFloat(b, a.Num)
	case eval.AttrBool:
		return strconv.AppendBool(b, a.Bool)
	case eval.AttrNull:
		return append(b, "null"...)
	}
	return b
}

// appendJSONFloat formats f as encoding/json does (ES6 number format).
func appendJSONFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	fmt := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		fmt = 'e'
	}
	b = strconv.AppendFloat(b, f, fmt, -1, 64)
	if fmt == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it (HTML characters and U+2028/U+2029 included); strings that
// need no escaping are copied as they are.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= 0x80 {
			raw, _ := json.Marshal(s)
			return append(b, raw...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
