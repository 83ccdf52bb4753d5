package main

import (
	"bufio"
	"fmt"
	"os"
)

// The camera file each browser plays as its camera
// (--use-file-for-fake-video-capture): 320×240 at 30 fps, every frame
// carrying its number in the file and the browser's index as a barcode of
// big black and white blocks that survive VP8 at any bitrate, read back in
// the pages by the measuring script (measure.js).
const (
	camWidth, camHeight = 320, 240
	camFPS              = 30
	// The barcode is a grid of blocks: the data bits (counter, then
	// sender), then their complement, which is how a reader tells a frame
	// it read right from a blur or a scene change.
	barCols, barRows = 6, 4
	counterBits      = 9
	senderBits       = 3
	dataBits         = counterBits + senderBits // barCols*barRows == 2*dataBits
	// camFrames is the file's length and so the counter's period: 10 s,
	// far longer than any glass-to-glass delay, so that a presented frame
	// is matched to the right capture (measure.go).
	camFrames  = 300
	maxSenders = 1 << senderBits
	black      = 16 // Y of BT.601 video range
	white      = 235
)

// barcode is the bit (true: white) of each block, row by row.
func barcode(counter, sender int) [barCols * barRows]bool {
	var bits [barCols * barRows]bool
	v := counter | sender<<counterBits
	for i := range dataBits {
		bits[i] = v>>i&1 == 1
		bits[dataBits+i] = !bits[i]
	}
	return bits
}

// writeCamera writes sender's camera file (YUV4MPEG2, 4:2:0) to path.
func writeCamera(path string, sender int) error {
	if sender < 0 || sender >= maxSenders {
		return fmt.Errorf("camera: sender %d out of 0..%d", sender, maxSenders-1)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("camera: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintf(w, "YUV4MPEG2 W%d H%d F%d:1 Ip A1:1 C420jpeg\n", camWidth, camHeight, camFPS)
	y := make([]byte, camWidth*camHeight)
	chroma := make([]byte, camWidth*camHeight/2) // U and V, both neutral grey
	for i := range chroma {
		chroma[i] = 128
	}
	for n := range camFrames {
		bits := barcode(n, sender)
		for row := range camHeight {
			br := row * barRows / camHeight
			for col := range camWidth {
				v := byte(black)
				if bits[br*barCols+col*barCols/camWidth] {
					v = white
				}
				y[row*camWidth+col] = v
			}
		}
		w.WriteString("FRAME\n")
		w.Write(y)
		w.Write(chroma)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("camera: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("camera: %w", err)
	}
	return nil
}
