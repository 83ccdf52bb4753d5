// Package srtpfloor measures the floor under the SFU's cost per packet: the
// work that any forwarder of SRTP must do for one published packet and N
// subscribers, and nothing else. One SRTP unprotect with the publisher's
// keys, then for each subscriber an SSRC rewrite, an SRTP protect with that
// subscriber's own keys and a UDP write on loopback. No interceptors, no
// locks, no packet cache, no fan-out bookkeeping: internal/sfu's benchmarks
// and the load tool are read against this number.
package srtpfloor

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// Result of one floor run.
type Result struct {
	Subscribers    int
	Packets        int           // published packets processed
	Forwarded      int           // Packets × Subscribers
	Elapsed        time.Duration // busy time of the single goroutine doing the work
	NsPerForwarded float64       // Elapsed / Forwarded
}

const (
	// Profile is the SRTP protection profile measured, the one
	// internal/peer prefers.
	Profile = srtp.ProtectionProfileAeadAes128Gcm

	// MaxPayload keeps one SRTP packet (12-byte header, payload, 16-byte GCM
	// tag) within a 1472-byte UDP payload, the most an Ethernet frame carries.
	MaxPayload = 1472 - 12 - 16

	// replayWindow is what Pion's receiving SRTP session uses by default
	// (srtp/v3 defaultSessionSRTPReplayProtectionWindow): the check is part
	// of the unavoidable work.
	replayWindow = 64

	// batchSize packets are encrypted by the "publisher" (not timed), then
	// forwarded (timed). Bounded memory for any number of packets, and
	// monotonic sequence numbers, so the replay check passes as it would on
	// a live stream.
	batchSize = 256

	bufSize = 1500
)

// ErrInvalid: Measure's arguments are out of range.
var ErrInvalid = errors.New("srtpfloor: invalid argument")

// Measure runs the floor loop on one goroutine: packets pre-encrypted SRTP
// packets of payloadBytes of payload (1200 is realistic for video) are each
// decrypted once and encrypted and written once per subscriber, to a
// loopback socket that another goroutine drains. Only the forwarding is
// timed, not the making of the input.
func Measure(subscribers, packets, payloadBytes int) (Result, error) {
	if packets < 0 {
		return Result{}, fmt.Errorf("%w: %d packets", ErrInvalid, packets)
	}
	f, err := newFloor(Profile, subscribers, payloadBytes)
	if err != nil {
		return Result{}, err
	}
	defer f.close()
	var elapsed time.Duration
	for done := 0; done < packets; {
		batch, err := f.fill(min(batchSize, packets-done))
		if err != nil {
			return Result{}, err
		}
		start := time.Now()
		err = f.forward(batch)
		elapsed += time.Since(start)
		if err != nil {
			return Result{}, err
		}
		done += len(batch)
	}
	r := Result{Subscribers: subscribers, Packets: packets, Forwarded: packets * subscribers, Elapsed: elapsed}
	if r.Forwarded > 0 {
		r.NsPerForwarded = float64(elapsed.Nanoseconds()) / float64(r.Forwarded)
	}
	return r, nil
}

// floor holds everything one run needs, allocated up front so that the
// forwarding loop itself allocates nothing.
type floor struct {
	keys  [][]byte        // master key then salt: [0] the publisher's, [1+i] subscriber i's
	pub   *srtp.Context   // the publisher's sending context: makes the input
	in    *srtp.Context   // the forwarder's receiving context for the publisher
	outs  []*srtp.Context // the forwarder's sending context per subscriber
	ssrcs []uint32        // per subscriber, as each subscriber's negotiation chose

	conn    *net.UDPConn // the forwarder's one unconnected socket, as Pion's UDP mux has
	sink    *net.UDPConn
	sinkTo  netip.AddrPort
	drained sync.WaitGroup

	plain   []byte   // the publisher's RTP packet, rewritten per sequence number
	batch   [][]byte // ciphertexts waiting to be forwarded
	dec     []byte
	enc     []byte
	hdr     rtp.Header
	seq     uint16
	keyLen  int
	payload int

	sent func(sub int, pkt []byte) // test hook: sees every protected packet
}

func newFloor(profile srtp.ProtectionProfile, subscribers, payloadBytes int) (f *floor, err error) {
	if subscribers < 1 {
		return nil, fmt.Errorf("%w: %d subscribers (at least 1)", ErrInvalid, subscribers)
	}
	if payloadBytes < 0 || payloadBytes > MaxPayload {
		return nil, fmt.Errorf("%w: %d bytes of payload (0 to %d)", ErrInvalid, payloadBytes, MaxPayload)
	}
	keyLen, err := profile.KeyLen()
	if err != nil {
		return nil, fmt.Errorf("srtpfloor: %w", err)
	}
	saltLen, err := profile.SaltLen()
	if err != nil {
		return nil, fmt.Errorf("srtpfloor: %w", err)
	}
	f = &floor{keyLen: keyLen, payload: payloadBytes, seq: 1}
	defer func() {
		if err != nil {
			f.close()
		}
	}()
	for range subscribers + 1 {
		k := make([]byte, keyLen+saltLen)
		rand.Read(k)
		f.keys = append(f.keys, k)
	}
	if f.pub, err = f.context(profile, 0); err != nil {
		return nil, err
	}
	if f.in, err = f.context(profile, 0, srtp.SRTPReplayProtection(replayWindow)); err != nil {
		return nil, err
	}
	for i := range subscribers {
		out, err := f.context(profile, 1+i)
		if err != nil {
			return nil, err
		}
		f.outs = append(f.outs, out)
		f.ssrcs = append(f.ssrcs, 0x10000+uint32(i))
	}

	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	if f.sink, err = net.ListenUDP("udp4", lo); err != nil {
		return nil, fmt.Errorf("srtpfloor: sink socket: %w", err)
	}
	f.sinkTo = f.sink.LocalAddr().(*net.UDPAddr).AddrPort()
	if f.conn, err = net.ListenUDP("udp4", lo); err != nil {
		return nil, fmt.Errorf("srtpfloor: sending socket: %w", err)
	}
	// A reader keeps the sink's port open (no ICMP port unreachable) and its
	// buffer mostly empty; what overflows is dropped, which costs the sender
	// nothing more.
	f.drained.Add(1)
	go func() {
		defer f.drained.Done()
		buf := make([]byte, bufSize)
		for {
			if _, _, err := f.sink.ReadFromUDPAddrPort(buf); err != nil {
				return
			}
		}
	}()

	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 0xdeadbeef}, Payload: make([]byte, payloadBytes)}
	rand.Read(pkt.Payload)
	if f.plain, err = pkt.Marshal(); err != nil {
		return nil, fmt.Errorf("srtpfloor: %w", err)
	}
	f.batch = make([][]byte, batchSize)
	for i := range f.batch {
		f.batch[i] = make([]byte, bufSize)
	}
	f.dec = make([]byte, bufSize)
	f.enc = make([]byte, bufSize)
	return f, nil
}

func (f *floor) context(profile srtp.ProtectionProfile, i int, opts ...srtp.ContextOption) (*srtp.Context, error) {
	c, err := srtp.CreateContext(f.keys[i][:f.keyLen], f.keys[i][f.keyLen:], profile, opts...)
	if err != nil {
		return nil, fmt.Errorf("srtpfloor: context: %w", err)
	}
	return c, nil
}

// fill makes the next n packets of the publisher's stream: consecutive
// sequence numbers (wrapping, so the rollover counter is exercised on long
// runs), a 90 kHz timestamp, the sequence number in the first payload bytes
// so that no two packets are alike.
func (f *floor) fill(n int) ([][]byte, error) {
	for i := range n {
		binary.BigEndian.PutUint16(f.plain[2:4], f.seq)
		binary.BigEndian.PutUint32(f.plain[4:8], uint32(f.seq)*3000)
		if f.payload >= 2 {
			binary.BigEndian.PutUint16(f.plain[12:14], f.seq)
		}
		out, err := f.pub.EncryptRTP(f.batch[i][:0], f.plain, &f.hdr)
		if err != nil {
			return nil, fmt.Errorf("srtpfloor: publisher protect: %w", err)
		}
		f.batch[i] = out
		f.seq++
	}
	return f.batch[:n], nil
}

// forward is the floor itself, timed by the caller.
func (f *floor) forward(batch [][]byte) error {
	for _, c := range batch {
		plain, err := f.in.DecryptRTP(f.dec, c, &f.hdr)
		if err != nil {
			return fmt.Errorf("srtpfloor: unprotect: %w", err)
		}
		for i, out := range f.outs {
			// The SFU rewrites the SSRC to the one the subscriber negotiated
			// (RFC 3550 §8: one SSRC per sender per session); the SRTP
			// keystream depends on it, so it is done before protecting.
			binary.BigEndian.PutUint32(plain[8:12], f.ssrcs[i])
			enc, err := out.EncryptRTP(f.enc, plain, &f.hdr)
			if err != nil {
				return fmt.Errorf("srtpfloor: protect for subscriber %d: %w", i, err)
			}
			if _, err := f.conn.WriteToUDPAddrPort(enc, f.sinkTo); err != nil {
				return fmt.Errorf("srtpfloor: write: %w", err)
			}
			if f.sent != nil {
				f.sent(i, enc)
			}
		}
	}
	return nil
}

func (f *floor) close() {
	if f.conn != nil {
		f.conn.Close()
	}
	if f.sink != nil {
		f.sink.Close()
	}
	f.drained.Wait()
}
