package totp

import (
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"strconv"
	"strings"
	"testing"

	goqr "github.com/piglig/go-qr"
)

// byteCapacityM is how many bytes (byte mode) versions 1-13 hold at level M.
var byteCapacityM = []int{0, 14, 26, 42, 62, 84, 106, 122, 152, 180, 213, 251, 287, 331}

func TestQRSVG(t *testing.T) {
	t.Parallel()
	secret := []byte("12345678901234567890")
	for _, text := range []string{
		"otpauth://x",
		URI("Gatehouse", "alice", secret),
		URI("Gatehouse", "alice.smith@example.com", secret),
		URI("Zürich Bank ✓ Online", "jürgen.müller@bücher.example.de", secret),
	} {
		t.Run(strconv.Itoa(len(text)), func(t *testing.T) {
			t.Parallel()
			svg, err := QRSVG(text)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d bytes of text, %d bytes of SVG", len(text), len(svg))
			checkSafeSVG(t, svg)
			doc := parseSVG(t, svg)

			version := 0
			for v, c := range byteCapacityM {
				if v > 0 && len(text) <= c {
					version = v
					break
				}
			}
			if version == 0 {
				t.Fatalf("test text of %d bytes is too long for the table", len(text))
			}
			const quiet = 4 // modules of quiet zone on each side
			size := 17 + 4*version
			n := size + 2*quiet
			if doc.ViewBox != fmt.Sprintf("0 0 %d %d", n, n) {
				t.Errorf("viewBox %q, want a version %d symbol (%d modules) with its quiet zone: 0 0 %d %d", doc.ViewBox, version, size, n, n)
			}
			if doc.Width == "" || doc.Width != doc.Height || doc.Width != strconv.Itoa(n*modulePixels) {
				t.Errorf("width %q, height %q, want %d", doc.Width, doc.Height, n*modulePixels)
			}
			if len(svg) > 8<<10 && len(text) < 150 {
				t.Errorf("SVG of %d bytes for %d bytes of text", len(svg), len(text))
			}

			grid := rasterize(t, doc.Path.D, n)
			want, err := encodeQR(text)
			if err != nil {
				t.Fatal(err)
			}
			for y := range n {
				for x := range n {
					inSymbol := x >= quiet && y >= quiet && x < quiet+size && y < quiet+size
					dark := inSymbol && want.Module(x-quiet, y-quiet)
					if grid[y][x] != dark {
						t.Fatalf("module (%d,%d) of the SVG is dark=%v, want %v", x, y, grid[y][x], dark)
					}
				}
			}

			res, err := goqr.DecodeDetailed(toImage(grid, 3), goqr.WithFastPathOnly())
			if err != nil {
				t.Fatalf("decode the drawn symbol: %v", err)
			}
			if res.Text != text || res.Ecc != goqr.Medium || res.Version != version {
				t.Errorf("decoded %q, level %d, version %d; want %q, level M, version %d", res.Text, res.Ecc, res.Version, text, version)
			}
		})
	}
}

func TestQRSVGRefuses(t *testing.T) {
	t.Parallel()
	for _, text := range []string{"", strings.Repeat("a", maxQRText+1)} {
		if svg, err := QRSVG(text); err == nil {
			t.Errorf("QRSVG of %d bytes = %d bytes of SVG, want an error", len(text), len(svg))
		}
	}
	if _, err := QRSVG(strings.Repeat("é", maxQRText/2)); err != nil {
		t.Errorf("QRSVG of %d bytes: %v", maxQRText, err)
	}
}

// checkSafeSVG checks that svg is well-formed XML made only of svg, rect
// and path elements, with no script, link, event handler or style.
func checkSafeSVG(t *testing.T, svg string) {
	t.Helper()
	if !strings.HasPrefix(svg, "<svg ") || !strings.HasSuffix(svg, "</svg>") {
		t.Errorf("the document does not start with <svg and end with </svg>: %.40q…", svg)
	}
	low := strings.ToLower(svg)
	for _, bad := range []string{"<script", "href", "<!", "<?", "url(", "style", "javascript:", "<foreignobject", "<image", "<use"} {
		if strings.Contains(low, bad) {
			t.Errorf("the SVG contains %q", bad)
		}
	}
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not XML: %v", err)
		}
		el, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if el.Name.Space != "http://www.w3.org/2000/svg" {
			t.Errorf("element %v outside the SVG namespace", el.Name)
		}
		switch el.Name.Local {
		case "svg", "rect", "path":
		default:
			t.Errorf("unexpected element %q", el.Name.Local)
		}
		for _, a := range el.Attr {
			if strings.HasPrefix(strings.ToLower(a.Name.Local), "on") || a.Name.Space != "" && a.Name.Space != "xmlns" {
				t.Errorf("attribute %v=%q", a.Name, a.Value)
			}
		}
	}
}

type svgDoc struct {
	XMLName xml.Name `xml:"http://www.w3.org/2000/svg svg"`
	Width   string   `xml:"width,attr"`
	Height  string   `xml:"height,attr"`
	ViewBox string   `xml:"viewBox,attr"`
	Rect    struct {
		Width  string `xml:"width,attr"`
		Height string `xml:"height,attr"`
		Fill   string `xml:"fill,attr"`
	} `xml:"rect"`
	Path struct {
		D           string `xml:"d,attr"`
		Fill        string `xml:"fill,attr"`
		Stroke      string `xml:"stroke,attr"`
		StrokeWidth string `xml:"stroke-width,attr"`
	} `xml:"path"`
}

func parseSVG(t *testing.T, svg string) svgDoc {
	t.Helper()
	var doc svgDoc
	if err := xml.Unmarshal([]byte(svg), &doc); err != nil {
		t.Fatalf("xml.Unmarshal: %v", err)
	}
	n := strings.TrimPrefix(doc.ViewBox, "0 0 ")
	n, _, _ = strings.Cut(n, " ")
	if doc.Rect.Width != n || doc.Rect.Height != n || doc.Rect.Fill != "#fff" {
		t.Errorf("background %+v, want a white %s square", doc.Rect, n)
	}
	if doc.Path.Fill != "none" || doc.Path.Stroke != "#000" || doc.Path.StrokeWidth != "1" {
		t.Errorf("path fill %q, stroke %q, stroke-width %q", doc.Path.Fill, doc.Path.Stroke, doc.Path.StrokeWidth)
	}
	return doc
}

// rasterize draws path data made of M x y, m dx dy and h dx commands, each
// h a one-module-wide horizontal stroke through the middle of a row, on an
// n×n grid of modules.
func rasterize(t *testing.T, d string, n int) [][]bool {
	t.Helper()
	grid := make([][]bool, n)
	for i := range grid {
		grid[i] = make([]bool, n)
	}
	var x, y float64
	for d != "" {
		cmd := d[0]
		d = d[1:]
		end := strings.IndexAny(d, "Mmh")
		if end < 0 {
			end = len(d)
		}
		args := strings.Fields(d[:end])
		d = d[end:]
		nums := make([]float64, len(args))
		for i, a := range args {
			v, err := strconv.ParseFloat(a, 64)
			if err != nil {
				t.Fatalf("path number %q: %v", a, err)
			}
			nums[i] = v
		}
		switch {
		case cmd == 'M' && len(nums) == 2:
			x, y = nums[0], nums[1]
		case cmd == 'm' && len(nums) == 2:
			x, y = x+nums[0], y+nums[1]
		case cmd == 'h' && len(nums) == 1 && nums[0] > 0:
			row := int(y)
			if y-float64(row) != 0.5 || x != float64(int(x)) || row < 0 || row >= n || x < 0 || x+nums[0] > float64(n) {
				t.Fatalf("stroke from (%v,%v) of %v does not cover whole modules of the grid", x, y, nums[0])
			}
			for c := int(x); c < int(x+nums[0]); c++ {
				if grid[row][c] {
					t.Fatalf("module (%d,%d) drawn twice", c, row)
				}
				grid[row][c] = true
			}
			x += nums[0]
		default:
			t.Fatalf("unexpected path command %c %v", cmd, nums)
		}
	}
	return grid
}

func toImage(grid [][]bool, scale int) image.Image {
	n := len(grid)
	img := image.NewGray(image.Rect(0, 0, n*scale, n*scale))
	for y := range n * scale {
		for x := range n * scale {
			c := color.Gray{Y: 255}
			if grid[y/scale][x/scale] {
				c.Y = 0
			}
			img.SetGray(x, y, c)
		}
	}
	return img
}
