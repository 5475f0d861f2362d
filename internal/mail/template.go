package mail

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"
	texttemplate "text/template"
	"text/template/parse"
	"time"
)

// Mail templates are written in text/template's language and parsed by
// its parser (text/template/parse), but run by the small executor below,
// over Data only. text/template's executor finds methods by name at run
// time (reflect's MethodByName), and a program that can do that keeps
// every exported method of every type it ever puts in an interface: with
// it, the gatehouse binary is 27% larger (text and tables 31.6 MB against
// 22.9 MB, four of them the Redis client's commands) and its resident
// memory 2-3 MB higher, idle or under load, for seven messages of a few
// fields each.
//
// What runs: text; actions printing a pipeline; if, else if, else and
// with; the fields of Data (.Username, $.Link); the functions duration and
// datetime; and the builtins and, or, not, eq, ne, lt, le, gt, ge, len,
// print, printf, println, html, js and urlquery. What does not (range,
// template, define, block, variables, methods, index, slice, call) is
// refused when the template is read, naming the file and the place.
//
// In an HTML template every action's output is escaped for where it
// stands, as html/template would: in text and in quoted attribute values
// as HTML; at the start of a URL attribute (href, src, …) only a
// relative URL or an http, https or mailto one is let through (anything
// else becomes "#ZgotmplZ") and it is percent-encoded where a URL may not
// hold a byte; further into a URL attribute, as a URL query value. An
// action anywhere else (inside a tag but outside a quoted value, in a
// script, a style, an event-handler or style attribute, a comment) is
// refused when the template is read.

// mailTemplate is a parsed template and, for HTML, the escaping of each
// of its actions.
type mailTemplate struct {
	name   string
	tree   *parse.Tree
	escape map[*parse.ActionNode]escaping // nil for a plain template
}

// escaping is how an action's output is escaped in an HTML template.
type escaping uint8

const (
	escapeHTML     escaping = iota // text or a quoted attribute value
	escapeURLStart                 // the start of a URL attribute's value
	escapeURLPart                  // further into a URL attribute's value
)

// templateFuncs are the functions a template may call. parse needs only
// their names, each with a value that is not nil.
var templateFuncs = func() map[string]any {
	m := map[string]any{}
	for _, name := range strings.Fields("duration datetime and or not eq ne lt le gt ge len print printf println html js urlquery") {
		m[name] = name
	}
	return m
}()

// parseTemplate parses text as the template name; html turns on the
// escaping of actions by their place in the HTML.
func parseTemplate(name, text string, html bool) (*mailTemplate, error) {
	trees, err := parse.Parse(name, text, "", "", templateFuncs)
	if err != nil {
		return nil, err
	}
	t := &mailTemplate{name: name, tree: trees[name]}
	if len(trees) != 1 || t.tree == nil {
		return nil, fmt.Errorf("template: %s: define and block are not supported: a mail template is one template", name)
	}
	if err := t.check(t.tree.Root); err != nil {
		return nil, err
	}
	if html {
		t.escape = map[*parse.ActionNode]escaping{}
		end, err := t.contexts(t.tree.Root, htmlContext{})
		if err != nil {
			return nil, err
		}
		if end.state != stateText {
			return nil, fmt.Errorf("template: %s: ends inside a tag, a comment, a script or a style", name)
		}
	}
	return t, nil
}

// fail is an error at node n found when the template is read, located
// as text/template locates them.
func (t *mailTemplate) fail(n parse.Node, format string, args ...any) error {
	loc, context := t.tree.ErrorContext(n)
	return fmt.Errorf("template: %s: %s: %s", loc, context, fmt.Sprintf(format, args...))
}

// failRun is an error at node n while the template runs, in
// text/template's words.
func (t *mailTemplate) failRun(n parse.Node, format string, args ...any) error {
	loc, context := t.tree.ErrorContext(n)
	return fmt.Errorf("template: %s: executing %q at <%s>: %s", loc, t.name, context, fmt.Sprintf(format, args...))
}

// check refuses what the executor does not run.
func (t *mailTemplate) check(n parse.Node) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := t.check(c); err != nil {
				return err
			}
		}
	case *parse.TextNode, *parse.CommentNode:
	case *parse.ActionNode:
		return t.checkPipe(n.Pipe)
	case *parse.IfNode:
		return t.checkBranch(&n.BranchNode)
	case *parse.WithNode:
		return t.checkBranch(&n.BranchNode)
	case *parse.RangeNode:
		return t.fail(n, "range is not supported in mail templates")
	case *parse.TemplateNode:
		return t.fail(n, "template is not supported in mail templates")
	default:
		return t.fail(n, "not supported in mail templates")
	}
	return nil
}

func (t *mailTemplate) checkBranch(b *parse.BranchNode) error {
	if err := t.checkPipe(b.Pipe); err != nil {
		return err
	}
	if err := t.check(b.List); err != nil {
		return err
	}
	return t.check(b.ElseList)
}

func (t *mailTemplate) checkPipe(p *parse.PipeNode) error {
	if len(p.Decl) > 0 || p.IsAssign {
		return t.fail(p, "variables are not supported in mail templates")
	}
	for _, c := range p.Cmds {
		for i, a := range c.Args {
			if err := t.checkArg(a, i == 0); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *mailTemplate) checkArg(a parse.Node, first bool) error {
	switch a := a.(type) {
	case *parse.FieldNode:
		if len(a.Ident) != 1 {
			return t.fail(a, "only the fields of the message's data can be used, not their fields or methods")
		}
	case *parse.VariableNode:
		if a.Ident[0] != "$" || len(a.Ident) > 2 {
			return t.fail(a, "variables are not supported in mail templates; $ and $.Field are")
		}
	case *parse.IdentifierNode:
		if !first {
			return t.fail(a, "function %s must be called first in its command (or in parentheses)", a.Ident)
		}
	case *parse.PipeNode:
		return t.checkPipe(a)
	case *parse.DotNode, *parse.StringNode, *parse.NumberNode, *parse.BoolNode, *parse.NilNode:
	default:
		return t.fail(a, "not supported in mail templates")
	}
	return nil
}

// execute writes t run on d.
func (t *mailTemplate) execute(b *bytes.Buffer, d Data) error {
	return t.walk(b, t.tree.Root, d, d)
}

func (t *mailTemplate) walk(b *bytes.Buffer, n parse.Node, dot any, d Data) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := t.walk(b, c, dot, d); err != nil {
				return err
			}
		}
	case *parse.TextNode:
		b.Write(n.Text)
	case *parse.CommentNode:
	case *parse.ActionNode:
		v, err := t.pipe(n.Pipe, dot, d)
		if err != nil {
			return err
		}
		t.print(b, n, v)
	case *parse.IfNode:
		return t.branch(b, &n.BranchNode, dot, d, false)
	case *parse.WithNode:
		return t.branch(b, &n.BranchNode, dot, d, true)
	}
	return nil
}

func (t *mailTemplate) branch(b *bytes.Buffer, n *parse.BranchNode, dot any, d Data, with bool) error {
	v, err := t.pipe(n.Pipe, dot, d)
	if err != nil {
		return err
	}
	if truth(v) {
		if with {
			dot = v
		}
		return t.walk(b, n.List, dot, d)
	}
	return t.walk(b, n.ElseList, dot, d)
}

// print writes an action's value, escaped for its place in HTML.
func (t *mailTemplate) print(b *bytes.Buffer, n *parse.ActionNode, v any) {
	s := fmt.Sprint(v)
	if t.escape == nil {
		b.WriteString(s)
		return
	}
	switch t.escape[n] {
	case escapeURLStart:
		s = normalizeURL(filterURL(s))
	case escapeURLPart:
		s = url.QueryEscape(s)
	}
	b.WriteString(texttemplate.HTMLEscapeString(s))
}

// pipe evaluates a pipeline: each command's value is the last argument of
// the next.
func (t *mailTemplate) pipe(p *parse.PipeNode, dot any, d Data) (any, error) {
	var v any
	for i, c := range p.Cmds {
		var err error
		var prev []any
		if i > 0 {
			prev = []any{v}
		}
		if v, err = t.command(c, dot, d, prev); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func (t *mailTemplate) command(c *parse.CommandNode, dot any, d Data, final []any) (any, error) {
	if fn, ok := c.Args[0].(*parse.IdentifierNode); ok {
		return t.call(fn, c.Args[1:], dot, d, final)
	}
	if len(c.Args) > 1 || len(final) > 0 {
		return nil, t.failRun(c, "%s is not a function: it takes no arguments", c.Args[0])
	}
	if _, ok := c.Args[0].(*parse.NilNode); ok {
		return nil, t.failRun(c, "nil is not a command")
	}
	return t.arg(c.Args[0], dot, d)
}

// arg evaluates an argument.
func (t *mailTemplate) arg(a parse.Node, dot any, d Data) (any, error) {
	switch a := a.(type) {
	case *parse.DotNode:
		return dot, nil
	case *parse.FieldNode:
		data, ok := dot.(Data)
		if !ok {
			return nil, t.failRun(a, "can't evaluate field %s in type %T", a.Ident[0], dot)
		}
		return t.field(a, data, a.Ident[0])
	case *parse.VariableNode:
		if len(a.Ident) == 1 {
			return d, nil
		}
		return t.field(a, d, a.Ident[1])
	case *parse.PipeNode:
		return t.pipe(a, dot, d)
	case *parse.StringNode:
		return a.Text, nil
	case *parse.BoolNode:
		return a.True, nil
	case *parse.NumberNode: // as text/template types an untyped constant
		hexInt := len(a.Text) > 2 && a.Text[0] == '0' && a.Text[1]|0x20 == 'x' && !strings.ContainsAny(a.Text, "pP")
		runeInt := a.Text[0] == '\''
		switch {
		case a.IsComplex:
			return a.Complex128, nil
		case a.IsFloat && !hexInt && !runeInt && strings.ContainsAny(a.Text, ".eEpP"):
			return a.Float64, nil
		case a.IsInt:
			return int(a.Int64), nil
		}
		return nil, t.failRun(a, "%s overflows int", a.Text)
	case *parse.NilNode:
		return nil, nil
	}
	return nil, t.failRun(a, "not supported in mail templates")
}

// field is a field of Data, found by its name without reflection.
func (t *mailTemplate) field(n parse.Node, d Data, name string) (any, error) {
	switch name {
	case "Product":
		return d.Product, nil
	case "Username":
		return d.Username, nil
	case "Email":
		return d.Email, nil
	case "Link":
		return d.Link, nil
	case "LinkPath":
		return d.LinkPath, nil
	case "Token":
		return d.Token, nil
	case "Expires":
		return d.Expires, nil
	case "NewEmail":
		return d.NewEmail, nil
	case "When":
		return d.When, nil
	case "IP":
		return d.IP, nil
	}
	return nil, t.failRun(n, "can't evaluate field %s in type mail.Data", name)
}

// call runs the function fn on args, then final (the previous command's
// value in a pipeline).
func (t *mailTemplate) call(fn *parse.IdentifierNode, args []parse.Node, dot any, d Data, final []any) (any, error) {
	eval := func(a parse.Node) (any, error) { return t.arg(a, dot, d) }
	switch fn.Ident {
	case "and", "or": // stop at the first false (and) or true (or) argument
		if len(args)+len(final) == 0 {
			return nil, t.failRun(fn, "%s needs at least one argument", fn.Ident)
		}
		var v any
		for _, a := range args {
			var err error
			if v, err = eval(a); err != nil {
				return nil, err
			}
			if truth(v) == (fn.Ident == "or") {
				return v, nil
			}
		}
		if len(final) > 0 {
			v = final[0]
		}
		return v, nil
	}
	vals := make([]any, 0, len(args)+len(final))
	for _, a := range args {
		v, err := eval(a)
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
	}
	vals = append(vals, final...)
	v, err := builtin(fn.Ident, vals)
	if err != nil {
		return nil, t.failRun(fn, "error calling %s: %v", fn.Ident, err)
	}
	return v, nil
}

var errArgs = errors.New("wrong number of arguments")

// builtin runs a function other than and and or.
func builtin(name string, a []any) (any, error) {
	one := func() (any, error) {
		if len(a) != 1 {
			return nil, errArgs
		}
		return a[0], nil
	}
	switch name {
	case "duration":
		v, err := one()
		if err != nil {
			return nil, err
		}
		d, ok := v.(time.Duration)
		if !ok {
			return nil, fmt.Errorf("wrong type for value; expected time.Duration; got %T", v)
		}
		return humanDuration(d), nil
	case "datetime":
		v, err := one()
		if err != nil {
			return nil, err
		}
		when, ok := v.(time.Time)
		if !ok {
			return nil, fmt.Errorf("wrong type for value; expected time.Time; got %T", v)
		}
		return formatDateTime(when), nil
	case "not":
		v, err := one()
		return !truth(v), err
	case "len":
		v, err := one()
		if err != nil {
			return nil, err
		}
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("len of %T", v)
		}
		return len(s), nil
	case "eq", "ne", "lt", "le", "gt", "ge":
		return compare(name, a)
	case "print":
		return fmt.Sprint(a...), nil
	case "println":
		return fmt.Sprintln(a...), nil
	case "printf":
		if len(a) == 0 {
			return nil, errArgs
		}
		format, ok := a[0].(string)
		if !ok {
			return nil, fmt.Errorf("printf's format must be a string, not %T", a[0])
		}
		return fmt.Sprintf(format, a[1:]...), nil
	case "html":
		return texttemplate.HTMLEscapeString(fmt.Sprint(a...)), nil
	case "js":
		return texttemplate.JSEscapeString(fmt.Sprint(a...)), nil
	case "urlquery":
		return url.QueryEscape(fmt.Sprint(a...)), nil
	}
	return nil, fmt.Errorf("%q is not a defined function", name)
}

// formatDateTime is the datetime function: "2 January 2006 at 15:04 UTC".
func formatDateTime(t time.Time) string { return t.UTC().Format("2 January 2006 at 15:04 UTC") }

// truth is text/template's: a value is true unless it is the zero value
// of its type (a time is a struct, always true).
func truth(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case string:
		return v != ""
	case int:
		return v != 0
	case float64:
		return v != 0
	case complex128:
		return v != 0
	case time.Duration:
		return v != 0
	}
	return true
}

// compare runs eq, ne, lt, le, gt or ge. eq with more than two arguments
// is true when the first equals any other; values compare within their
// kind (strings, integers, durations as integers, floats, booleans for eq
// and ne).
func compare(op string, a []any) (any, error) {
	if len(a) < 2 || (op != "eq" && len(a) != 2) {
		return nil, errArgs
	}
	for _, b := range a[1:] {
		c, err := order(a[0], b, op == "eq" || op == "ne")
		if err != nil {
			return nil, err
		}
		switch op {
		case "eq":
			if c == 0 {
				return true, nil
			}
		case "ne":
			return c != 0, nil
		case "lt":
			return c < 0, nil
		case "le":
			return c <= 0, nil
		case "gt":
			return c > 0, nil
		case "ge":
			return c >= 0, nil
		}
	}
	return false, nil
}

// order compares x and y: -1, 0 or 1.
func order(x, y any, equality bool) (int, error) {
	toInt := func(v any) (int64, bool) {
		switch v := v.(type) {
		case int:
			return int64(v), true
		case time.Duration:
			return int64(v), true
		}
		return 0, false
	}
	sign := func(lt, gt bool) int {
		switch {
		case lt:
			return -1
		case gt:
			return 1
		}
		return 0
	}
	if i, ok := toInt(x); ok {
		if j, ok := toInt(y); ok {
			return sign(i < j, i > j), nil
		}
	}
	switch x := x.(type) {
	case string:
		if y, ok := y.(string); ok {
			return strings.Compare(x, y), nil
		}
	case float64:
		if y, ok := y.(float64); ok {
			return sign(x < y, x > y), nil
		}
	case bool:
		if y, ok := y.(bool); ok && equality {
			return sign(false, x != y), nil
		}
	}
	return 0, fmt.Errorf("incompatible types for comparison: %T and %T", x, y)
}

// filterURL lets through a relative URL or an http, https or mailto one,
// as html/template does at the start of a URL attribute.
func filterURL(s string) string {
	scheme, _, ok := strings.Cut(s, ":")
	if !ok || strings.Contains(scheme, "/") {
		return s // no scheme: relative
	}
	switch strings.ToLower(scheme) {
	case "http", "https", "mailto":
		return s
	}
	return "#ZgotmplZ"
}

// normalizeURL percent-encodes the bytes a URL may not hold as they are,
// leaving the URL's own punctuation and existing escapes alone.
func normalizeURL(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("-._~:/?#[]@!$&'()*+,;=%", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
