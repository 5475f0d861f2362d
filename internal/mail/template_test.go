package mail

import (
	"bytes"
	htmltemplate "html/template"
	"io/fs"
	"path"
	"strings"
	"testing"
	texttemplate "text/template"
	"time"
)

// stdFuncs are the template functions as text/template and html/template
// are given them: the executor of template.go must agree with them.
var stdFuncs = texttemplate.FuncMap{
	"duration": humanDuration,
	"datetime": formatDateTime,
}

// sampleData are the values the differential tests render.
var sampleData = []Data{
	{Product: "Gatehouse", Username: "alice", Email: "alice@example.com", Link: "https://id.example.com/reset-password#token=abc_DEF-123", Expires: 30 * time.Minute},
	{Product: "Acme & Co", Username: `<b>"bob's"</b>`, Email: "b@example.org", NewEmail: "b2@example.org", When: time.Date(2026, 1, 2, 15, 4, 0, 0, time.UTC), IP: "192.0.2.1"},
	{Product: "Ünïcode ✓", Username: "élodie", Email: "e@example.org", Link: "https://id.example.com/verify-email#token=x", Expires: 48 * time.Hour, IP: "2001:db8::1"},
}

// TestEmbeddedTemplatesRenderAsTextTemplate: every embedded template
// renders exactly as text/template (plain) and html/template (HTML)
// render it.
func TestEmbeddedTemplatesRenderAsTextTemplate(t *testing.T) {
	t.Parallel()
	files, err := fs.Glob(embedded, "templates/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("embedded templates: %v %v", files, err)
	}
	for _, file := range files {
		b, err := fs.ReadFile(embedded, file)
		if err != nil {
			t.Fatal(err)
		}
		src, name := string(b), path.Base(file)
		html := strings.HasSuffix(name, ".html")
		if !html {
			_, src, err = splitSubject(src)
			if err != nil {
				t.Fatal(err)
			}
		}
		ours, err := parseTemplate(name, src, html)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, d := range sampleData {
			var want, got bytes.Buffer
			if html {
				err = htmltemplate.Must(htmltemplate.New(name).Funcs(htmltemplate.FuncMap(stdFuncs)).Parse(src)).Execute(&want, d)
			} else {
				err = texttemplate.Must(texttemplate.New(name).Funcs(stdFuncs).Parse(src)).Execute(&want, d)
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := ours.execute(&got, d); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			// html/template also writes "+" as "&#43;"; nothing else
			// may differ.
			if w := strings.ReplaceAll(want.String(), "&#43;", "+"); got.String() != w {
				t.Errorf("%s with %+v:\n got %q\nwant %q", name, d, got.String(), w)
			}
		}
	}
}

// templateSnippets are plain templates that text/template and the
// executor must render alike.
var templateSnippets = []string{
	"Hello {{.Username}}, {{.Email}} {{$.Product}} {{.IP}}.",
	"{{if .IP}}from {{.IP}}{{else if .Email}}mail {{.Email}}{{else}}nothing{{end}}",
	"{{with .NewEmail}}now {{.}}{{else}}same{{end}} {{with $}}{{.Username}}{{end}}",
	"{{duration .Expires}} {{.Expires}} {{datetime .When}} {{.Expires | duration}}",
	"{{if and .IP .Email}}both{{end}}{{if or .IP .NewEmail}}one{{end}}{{if not .Link}}nolink{{end}}",
	"{{and .IP .Email}}|{{or .NewEmail .Username}}|{{.Username | and .Email}}|{{.Username | or .IP}}",
	`{{if eq .Username "alice" "bob"}}known{{end}}{{if ne .IP ""}}ip{{end}}{{if lt .Username "m"}}early{{end}}`,
	"{{if gt .Expires 0}}expires{{end}}{{if ge (len .Username) 5}}long{{end}}{{if le 1 2}}le{{end}}",
	`{{printf "%s <%s>" .Username .Email}} {{print .Username 1 2.5 true}} {{println "x" .IP}}`,
	`{{html .Username}} {{js .Username}} {{urlquery .Username "a b&c"}} {{.Username | printf "%q"}}`,
	"{{- /* a comment */ -}} trimmed {{- .Username -}} . {{ 'a' }} {{ 1e3 }} {{ 0x1F }} {{ true }}",
	"{{(print .Username)}} {{len (print .Username .Email)}} {{if (eq .IP \"\")}}noip{{end}}",
	"{{.}}",
}

func TestTemplateSnippetsRenderAsTextTemplate(t *testing.T) {
	t.Parallel()
	for _, src := range templateSnippets {
		ours, err := parseTemplate("snippet", src, false)
		if err != nil {
			t.Errorf("%q: %v", src, err)
			continue
		}
		std := texttemplate.Must(texttemplate.New("snippet").Funcs(stdFuncs).Parse(src))
		for _, d := range sampleData {
			var want, got bytes.Buffer
			if err := std.Execute(&want, d); err != nil {
				t.Fatalf("%q: text/template: %v", src, err)
			}
			if err := ours.execute(&got, d); err != nil {
				t.Errorf("%q: %v", src, err)
				continue
			}
			if got.String() != want.String() {
				t.Errorf("%q with %+v:\n got %q\nwant %q", src, d, got.String(), want.String())
			}
		}
	}
}

// TestTemplateRefusals: what the executor does not run, and actions where
// HTML cannot hold them safely, are refused when the template is read,
// with the place named.
func TestTemplateRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		src  string
		html bool
		want string
	}{
		{src: "{{range .Username}}x{{end}}", want: "range is not supported"},
		{src: `{{define "x"}}y{{end}}hello`, want: "define and block are not supported"},
		{src: `{{template "x"}}`, want: "template is not supported"},
		{src: "{{$x := .Username}}{{$x}}", want: "variables are not supported"},
		{src: "{{.When.Year}}", want: "only the fields of the message's data"},
		{src: "{{(.When).Year}}", want: "not supported"},
		{src: "{{index .Username 0}}", want: `function "index" not defined`},
		{src: "{{call .Username}}", want: `function "call" not defined`},
		{src: "{{.Nope", want: "unclosed action"},
		{src: "<a {{.Username}}>x</a>", html: true, want: "not inside a tag"},
		{src: "<a href={{.Link}}>x</a>", html: true, want: "must be quoted"},
		{src: "<script>var u = '{{.Username}}';</script>", html: true, want: "script or a style"},
		{src: "<style>p { color: {{.Username}} }</style>", html: true, want: "script or a style"},
		{src: `<p onclick="go('{{.Username}}')">x</p>`, html: true, want: "onclick attribute"},
		{src: `<p style="color: {{.Username}}">x</p>`, html: true, want: "style attribute"},
		{src: "<!-- {{.Username}} -->", html: true, want: "HTML comment"},
		{src: `<p {{if .IP}}title="{{end}}">x</p>`, html: true, want: "different places of the HTML"},
		{src: `<p title="{{.Username}}`, html: true, want: "ends inside a tag"},
	} {
		_, err := parseTemplate("t", tc.src, tc.html)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want one saying %q", tc.src, err, tc.want)
		}
	}
}

// TestTemplateHTMLEscaping: each action's output is escaped for its
// place, and a URL attribute takes no script.
func TestTemplateHTMLEscaping(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		src, username, want string
	}{
		{`<p>{{.Username}}</p>`, `<script>alert(1)</script>`, `<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>`},
		{`<p title="{{.Username}}">x</p>`, `" onmouseover="alert(1)`, `<p title="&#34; onmouseover=&#34;alert(1)">x</p>`},
		{`<p title='{{.Username}}'>x</p>`, `' onmouseover='alert(1)`, `<p title='&#39; onmouseover=&#39;alert(1)'>x</p>`},
		{`<a href="{{.Username}}">x</a>`, `javascript:alert(1)`, `<a href="#ZgotmplZ">x</a>`},
		{`<a href="{{.Username}}">x</a>`, ` JavaScript:alert(1)`, `<a href="#ZgotmplZ">x</a>`},
		{`<a HREF="{{.Username}}">x</a>`, `data:text/html,<b>`, `<a HREF="#ZgotmplZ">x</a>`},
		{`<a href="{{.Username}}">x</a>`, `https://example.com/a b?c="d"`, `<a href="https://example.com/a%20b?c=%22d%22">x</a>`},
		{`<a href="{{.Username}}">x</a>`, `mailto:a@example.com`, `<a href="mailto:a@example.com">x</a>`},
		{`<a href="/p/{{.Username}}">x</a>`, `javascript:a&b=c d`, `<a href="/p/javascript%3Aa%26b%3Dc+d">x</a>`},
		{`<img alt=x src="{{.Username}}">`, `x" onerror="alert(1)`, `<img alt=x src="x%22%20onerror=%22alert(1)">`},
		{`<!-- {{ "comment" }} --><p>{{.Username}}</p>`, `a<b`, ``},
		{`<textarea>{{.Username}}</textarea>`, `</textarea><script>`, `<textarea>&lt;/textarea&gt;&lt;script&gt;</textarea>`},
		{`<p>{{if .Username}}<b title="{{.Username}}">{{.Username}}</b>{{end}}</p>`, `<i>`, `<p><b title="&lt;i&gt;">&lt;i&gt;</b></p>`},
		{`<p>{{.Username | html}}</p>`, `<i>`, `<p>&amp;lt;i&amp;gt;</p>`},
		{`<a href="{{if .Username}}{{.Username}}{{end}}{{.Username}}">x</a>`, `javascript:x`, `<a href="#ZgotmplZjavascript%3Ax">x</a>`},
		{`<a href="{{if .Email}}/{{end}}{{.Username}}">x</a>`, `a b`, `<a href="a+b">x</a>`},
	} {
		tm, err := parseTemplate("t", tc.src, true)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%q: parsed", tc.src)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		var b bytes.Buffer
		if err := tm.execute(&b, Data{Username: tc.username}); err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		if b.String() != tc.want {
			t.Errorf("%q with %q:\n got %s\nwant %s", tc.src, tc.username, b.String(), tc.want)
		}
	}
}

// TestTemplateExecutionErrors: errors of a template that parses are
// reported with its place, as text/template reports them.
func TestTemplateExecutionErrors(t *testing.T) {
	t.Parallel()
	for src, want := range map[string]string{
		"{{.Nope}}":                       `t:1:2: executing "t" at <.Nope>`,
		"{{duration .Username}}":          "expected time.Duration; got string",
		"{{datetime .Expires}}":           "expected time.Time; got time.Duration",
		"{{with .Username}}{{.X}}{{end}}": "can't evaluate field X in type string",
		`{{if lt .Username 1}}{{end}}`:    "incompatible types for comparison",
		"{{len .Expires}}":                "len of time.Duration",
		"{{.Username 1}}":                 "takes no arguments",
		"{{nil}}":                         "nil is not a command",
		"{{not}}":                         "wrong number of arguments",
	} {
		tm, err := parseTemplate("t", src, false)
		if err != nil {
			t.Errorf("%q: parse: %v", src, err)
			continue
		}
		err = tm.execute(&bytes.Buffer{}, sampleData[0])
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want one saying %q", src, err, want)
		}
	}
}

// FuzzTemplateText: a plain template the executor accepts renders as
// text/template renders it, or fails where text/template fails too (or
// where text/template would call a method, which the executor refuses).
func FuzzTemplateText(f *testing.F) {
	for _, s := range templateSnippets {
		f.Add(s, "alice")
	}
	f.Add("{{if eq .Expires 1800000000000}}30m{{end}}", "x")
	f.Fuzz(func(t *testing.T, src, username string) {
		ours, err := parseTemplate("f", src, false)
		if err != nil {
			return
		}
		std, err := texttemplate.New("f").Funcs(stdFuncs).Parse(src)
		if err != nil {
			t.Fatalf("%q: accepted here, refused by text/template: %v", src, err)
		}
		d := sampleData[0]
		d.Username = username
		var want, got bytes.Buffer
		stdErr := std.Execute(&want, d)
		ourErr := ours.execute(&got, d)
		switch {
		case stdErr == nil && ourErr == nil:
			if got.String() != want.String() {
				t.Fatalf("%q:\n got %q\nwant %q", src, got.String(), want.String())
			}
		case stdErr == nil && !strings.Contains(ourErr.Error(), "can't evaluate field"):
			t.Fatalf("%q: fails here (%v), runs in text/template: %q", src, ourErr, want.String())
		}
	})
}

// FuzzTemplateHTML: whatever a user's data holds, it never makes markup
// in an HTML template: no "<" and no quote of its own reach the output.
func FuzzTemplateHTML(f *testing.F) {
	f.Add("<script>alert(1)</script>")
	f.Add(`" onmouseover="x`)
	f.Add("javascript:alert(1)")
	tm, err := parseTemplate("f", `<p title="{{.Username}}">{{.Username}}</p><a href="{{.Username}}">x</a><a href="/u?n={{.Username}}">y</a>`, true)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, username string) {
		var b bytes.Buffer
		if err := tm.execute(&b, Data{Username: username}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if strings.Count(out, "<") != 6 || strings.Count(out, `"`) != 6 || strings.Contains(out, "'") {
			t.Fatalf("%q made markup: %s", username, out)
		}
		if href := out[strings.Index(out, `href="`)+6:]; strings.HasPrefix(strings.ToLower(strings.TrimSpace(href)), "javascript:") {
			t.Fatalf("%q: script URL: %s", username, out)
		}
	})
}
