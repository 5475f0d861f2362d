package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// printer prints rows for people, as a table under a header with every
// cell made printable, or as JSON lines (--json) escaped the same way.
type printer[T any] struct {
	json   *json.Encoder
	tw     *tabwriter.Writer
	row    func(T) []string
	toJSON func(T) any
}

func newPrinter[T any](w io.Writer, asJSON bool, header []string, row func(T) []string, toJSON func(T) any) *printer[T] {
	p := &printer[T]{row: row, toJSON: toJSON}
	if asJSON {
		p.json = json.NewEncoder(jsonWriter{w})
		return p
	}
	p.tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(p.tw, strings.Join(header, "\t"))
	return p
}

func (p *printer[T]) print(v T) error {
	if p.json != nil {
		return p.json.Encode(p.toJSON(v))
	}
	cs := p.row(v)
	for i, c := range cs {
		cs[i] = printable(c)
	}
	_, err := fmt.Fprintln(p.tw, strings.Join(cs, "\t"))
	return err
}

func (p *printer[T]) flush() error {
	if p.tw != nil {
		return p.tw.Flush()
	}
	return nil
}

// dash shows an empty cell as "-".
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
