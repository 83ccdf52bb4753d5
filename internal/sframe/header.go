package sframe

import (
	"fmt"
	"math/bits"
)

// The SFrame header (RFC 9605 §4.3, Figure 3):
//
//	 0 1 2 3 4 5 6 7
//	+-+-+-+-+-+-+-+-+------------+------------+
//	|X|  K  |Y|  C  |   KID...   |   CTR...   |
//	+-+-+-+-+-+-+-+-+------------+------------+
//
// A value 0–7 sits in K (or C) with X (or Y) clear; a larger one follows
// the config byte in the minimum number of big-endian bytes, with K (or C)
// holding that length minus one.

// extLen is the number of bytes v takes after the config byte: 0 when it
// fits in the config byte, else the minimum big-endian length.
func extLen(v uint64) int {
	if v < 8 {
		return 0
	}
	return (bits.Len64(v) + 7) / 8
}

// HeaderLen is the length of the header AppendHeader writes for kid and ctr.
func HeaderLen(kid, ctr uint64) int {
	return 1 + extLen(kid) + extLen(ctr)
}

// AppendHeader appends the SFrame header for kid and ctr (RFC 9605 §4.3).
func AppendHeader(dst []byte, kid, ctr uint64) []byte {
	kn, cn := extLen(kid), extLen(ctr)
	var config byte
	if kn == 0 {
		config = byte(kid) << 4
	} else {
		config = 0x80 | byte(kn-1)<<4
	}
	if cn == 0 {
		config |= byte(ctr)
	} else {
		config |= 0x08 | byte(cn-1)
	}
	dst = append(dst, config)
	dst = appendBE(dst, kid, kn)
	return appendBE(dst, ctr, cn)
}

func appendBE(dst []byte, v uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*i)))
	}
	return dst
}

// ParseHeader reads the SFrame header at the start of b and returns its KID,
// CTR and length. A header that is cut short, or whose KID or CTR is not in
// the minimal form RFC 9605 §4.3 requires ("MUST be encoded with the minimum
// number of bytes"), is ErrMalformed: so every accepted header is exactly
// what AppendHeader writes for its values.
func ParseHeader(b []byte) (kid, ctr uint64, n int, err error) {
	if len(b) == 0 {
		return 0, 0, 0, fmt.Errorf("%w: empty header", ErrMalformed)
	}
	config := b[0]
	n = 1
	kid, n, err = headerValue(b, n, config>>4, "KID")
	if err != nil {
		return 0, 0, 0, err
	}
	ctr, n, err = headerValue(b, n, config&0x0f, "CTR")
	if err != nil {
		return 0, 0, 0, err
	}
	return kid, ctr, n, nil
}

// headerValue decodes one field from its 4 config bits (flag and 3-bit
// value or length) and the bytes at b[off:]; it returns the offset past it.
func headerValue(b []byte, off int, nibble byte, what string) (uint64, int, error) {
	if nibble&0x8 == 0 {
		return uint64(nibble & 0x7), off, nil
	}
	l := int(nibble&0x7) + 1
	if len(b)-off < l {
		return 0, 0, fmt.Errorf("%w: header cut short in its %d-byte %s", ErrMalformed, l, what)
	}
	var v uint64
	for _, c := range b[off : off+l] {
		v = v<<8 | uint64(c)
	}
	if extLen(v) != l {
		return 0, 0, fmt.Errorf("%w: %s %d not minimally encoded (%d bytes)", ErrMalformed, what, v, l)
	}
	return v, off + l, nil
}
