package totp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	goqr "github.com/piglig/go-qr"
)

const (
	// quietZone is the light border around the symbol, in modules (the
	// QR standard's minimum).
	quietZone = 4
	// modulePixels is the displayed size of a module.
	modulePixels = 4
	// maxQRText bounds QRSVG's input: a key URI is a few hundred bytes.
	maxQRText = 1024
)

// QRSVG renders text (a key URI) as a QR code, error correction level M,
// in a self-contained SVG document: no script, no external reference, a
// width, height and viewBox, and a quiet zone of 4 modules. A URI of a
// hundred-odd bytes makes about 3 KB. Text that is empty or over 1024
// bytes is refused.
func QRSVG(text string) (string, error) {
	if text == "" {
		return "", errors.New("totp: empty QR code text")
	}
	if len(text) > maxQRText {
		return "", fmt.Errorf("totp: QR code text of %d bytes, over %d", len(text), maxQRText)
	}
	qr, err := encodeQR(text)
	if err != nil {
		return "", fmt.Errorf("totp: encode QR code: %w", err)
	}
	return renderSVG(qr), nil
}

// encodeQR encodes text at level M exactly (no boost to a higher level)
// in the smallest version that holds it.
func encodeQR(text string) (*goqr.QrCode, error) {
	segs, err := goqr.MakeSegments(text)
	if err != nil {
		return nil, err
	}
	return goqr.EncodeSegments(segs, goqr.Medium, goqr.MinVersion, goqr.MaxVersion, -1, false)
}

// renderSVG draws each row's runs of dark modules as horizontal strokes
// one module wide (through the row's middle, with butt ends, so each run
// covers exactly its modules) in a single path over a white square.
func renderSVG(qr *goqr.QrCode) string {
	size := qr.Size()
	n := strconv.Itoa(size + 2*quietZone)
	px := strconv.Itoa((size + 2*quietZone) * modulePixels)
	var b strings.Builder
	b.Grow(4096)
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" width="` + px + `" height="` + px +
		`" viewBox="0 0 ` + n + ` ` + n + `" shape-rendering="crispEdges">`)
	b.WriteString(`<rect width="` + n + `" height="` + n + `" fill="#fff"/>`)
	b.WriteString(`<path fill="none" stroke="#000" stroke-width="1" d="`)
	for y := 0; y < size; y++ {
		writeRow(&b, qr, y)
	}
	b.WriteString(`"/></svg>`)
	return b.String()
}

// writeRow writes row y's runs: an absolute move to the first, relative
// moves from the end of one run to the start of the next.
func writeRow(b *strings.Builder, qr *goqr.QrCode, y int) {
	size, end := qr.Size(), -1
	for x := 0; x < size; {
		if !qr.Module(x, y) {
			x++
			continue
		}
		start := x
		for x < size && qr.Module(x, y) {
			x++
		}
		if end < 0 {
			fmt.Fprintf(b, "M%d %d.5", start+quietZone, y+quietZone)
		} else {
			fmt.Fprintf(b, "m%d 0", start-end)
		}
		fmt.Fprintf(b, "h%d", x-start)
		end = x
	}
}
