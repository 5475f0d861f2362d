package mail

import (
	"bytes"
	"strings"
	"text/template/parse"
)

// The HTML context of each action of an HTML mail template, found once
// when the template is read by following the template's text through a
// small HTML tokenizer: enough of HTML to tell text, tags, attribute
// values, comments, scripts and styles apart.

type htmlState uint8

const (
	stateText        htmlState = iota
	stateTagName               // after "<" or "</": the tag's name
	stateTag                   // inside a tag, between attributes
	stateAttrName              // an attribute's name
	stateAfterName             // after an attribute's name: "=" or the next attribute
	stateBeforeValue           // after "="
	stateValue                 // a quoted attribute value
	stateUnquoted              // an unquoted attribute value
	stateComment               // <!-- … -->
	stateRaw                   // the content of a script or a style element
)

// htmlContext is where the tokenizer is. It is compared whole where the
// branches of an if or a with meet.
type htmlContext struct {
	state   htmlState
	quote   byte   // stateValue's quote
	tag     string // the tag being read, lower case
	end     bool   // it is an end tag
	attr    string // the attribute being read, lower case
	started bool   // the attribute value holds something already
	dashes  int    // stateComment: the "-" just read
}

// urlAttrs are the attributes whose value is a URL.
var urlAttrs = map[string]bool{
	"href": true, "src": true, "action": true, "formaction": true, "cite": true, "background": true,
	"poster": true, "longdesc": true, "usemap": true, "xlink:href": true, "manifest": true,
	"codebase": true, "icon": true, "profile": true, "data": true,
}

// contexts follows n from c, records the escaping of each action and
// returns the context after n.
func (t *mailTemplate) contexts(n parse.Node, c htmlContext) (htmlContext, error) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return c, nil
		}
		for _, x := range n.Nodes {
			var err error
			if c, err = t.contexts(x, c); err != nil {
				return c, err
			}
		}
	case *parse.TextNode:
		c = c.advance(n.Text)
	case *parse.ActionNode:
		e, err := t.place(n, c)
		if err != nil {
			return c, err
		}
		t.escape[n] = e
		if c.state == stateValue {
			c.started = true
		}
	case *parse.IfNode:
		return t.branchContexts(n, &n.BranchNode, c, "if")
	case *parse.WithNode:
		return t.branchContexts(n, &n.BranchNode, c, "with")
	}
	return c, nil
}

func (t *mailTemplate) branchContexts(n parse.Node, b *parse.BranchNode, c htmlContext, what string) (htmlContext, error) {
	then, err := t.contexts(b.List, c)
	if err != nil {
		return c, err
	}
	otherwise, err := t.contexts(b.ElseList, c)
	if err != nil {
		return c, err
	}
	// Where one branch wrote into a URL attribute's value and the other
	// did not, what follows is escaped as further into the URL, the
	// stricter of the two.
	started := then.started || otherwise.started
	then.started, otherwise.started = started, started
	if then != otherwise {
		return c, t.fail(n, "the branches of this %s end in different places of the HTML (one inside a tag or an attribute, the other not)", what)
	}
	return then, nil
}

// place is the escaping of an action in context c, or why it may not
// stand there.
func (t *mailTemplate) place(n *parse.ActionNode, c htmlContext) (escaping, error) {
	switch c.state {
	case stateText:
		return escapeHTML, nil
	case stateValue:
		switch {
		case strings.HasPrefix(c.attr, "on") || c.attr == "style" || c.attr == "srcdoc" || c.attr == "srcset":
			return 0, t.fail(n, "an action may not stand in a %s attribute (script, style or markup)", c.attr)
		case urlAttrs[c.attr] && !c.started:
			return escapeURLStart, nil
		case urlAttrs[c.attr]:
			return escapeURLPart, nil
		}
		return escapeHTML, nil
	case stateComment:
		return 0, t.fail(n, "an action may not stand in an HTML comment")
	case stateRaw:
		return 0, t.fail(n, "an action may not stand in a script or a style")
	case stateUnquoted, stateBeforeValue:
		return 0, t.fail(n, "an attribute value that holds an action must be quoted")
	}
	return 0, t.fail(n, "an action may stand only in text or in a quoted attribute value, not inside a tag")
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// advance follows text from c.
func (c htmlContext) advance(text []byte) htmlContext {
	for i := 0; i < len(text); i++ {
		ch := text[i]
		switch c.state {
		case stateText:
			if ch != '<' {
				continue
			}
			rest := text[i+1:]
			switch {
			case bytes.HasPrefix(rest, []byte("!--")):
				c = htmlContext{state: stateComment}
				i += 3
			case len(rest) > 0 && isLetter(rest[0]):
				c = htmlContext{state: stateTagName}
			case len(rest) > 1 && rest[0] == '/' && isLetter(rest[1]):
				c = htmlContext{state: stateTagName, end: true}
				i++
			}
		case stateTagName:
			switch {
			case isSpace(ch) || ch == '/':
				c.state = stateTag
			case ch == '>':
				c = c.tagEnd()
			default:
				c.tag += strings.ToLower(string(ch))
			}
		case stateTag, stateAfterName:
			switch {
			case isSpace(ch) || ch == '/':
				c.state = stateTag
			case ch == '>':
				c = c.tagEnd()
			case ch == '=' && c.state == stateAfterName:
				c.state = stateBeforeValue
			default:
				c.state, c.attr = stateAttrName, strings.ToLower(string(ch))
			}
		case stateAttrName:
			switch {
			case isSpace(ch):
				c.state = stateAfterName
			case ch == '/':
				c.state = stateTag
			case ch == '=':
				c.state = stateBeforeValue
			case ch == '>':
				c = c.tagEnd()
			default:
				c.attr += strings.ToLower(string(ch))
			}
		case stateBeforeValue:
			switch {
			case isSpace(ch):
			case ch == '"' || ch == '\'':
				c.state, c.quote, c.started = stateValue, ch, false
			case ch == '>':
				c = c.tagEnd()
			default:
				c.state = stateUnquoted
			}
		case stateValue:
			if ch == c.quote {
				c.state, c.quote, c.attr, c.started = stateTag, 0, "", false
			} else {
				c.started = true
			}
		case stateUnquoted:
			switch {
			case isSpace(ch):
				c.state, c.attr = stateTag, ""
			case ch == '>':
				c = c.tagEnd()
			}
		case stateComment:
			switch {
			case ch == '-':
				c.dashes++
			case ch == '>' && c.dashes >= 2:
				c = htmlContext{}
			default:
				c.dashes = 0
			}
		case stateRaw:
			rest := text[i:]
			if len(rest) >= 2+len(c.tag) && rest[0] == '<' && rest[1] == '/' && strings.EqualFold(string(rest[2:2+len(c.tag)]), c.tag) {
				c = htmlContext{state: stateTag, tag: c.tag, end: true}
				i += 1 + len(c.tag)
			}
		}
	}
	return c
}

// tagEnd is the context after a tag's ">": the content of a script or a
// style, or text.
func (c htmlContext) tagEnd() htmlContext {
	if !c.end && (c.tag == "script" || c.tag == "style") {
		return htmlContext{state: stateRaw, tag: c.tag}
	}
	return htmlContext{}
}
