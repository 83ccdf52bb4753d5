package peer

import (
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// Every received packet passes Pion's NACK generator, receiver-report and
// TWCC interceptors, and each wants the packet's parsed RTP header from the
// interceptor.Attributes it is handed. Pion hands the innermost one no
// attributes, so the first of them made a map and a header per packet (and
// the header's extension slice): three allocations per received packet, the
// only ones on the forwarding path. headerCache sits innermost instead and
// hands them, per stream, one map and one header reused for every packet
// (a stream is read by one goroutine, the track's read loop, and the
// interceptors read the header only during the call).

// headerKey is the key under which interceptor.Attributes.GetRTPHeader
// keeps a parsed header; the interceptor package does not export it, so it
// is learnt from one call (nil if that ever stops working: then the cache
// only saves the map, and GetRTPHeader parses as before).
var headerKey = sync.OnceValue(func() any {
	probe := interceptor.Attributes{}
	pkt := [12]byte{0x80} // RTP version 2, no extensions
	if _, err := probe.GetRTPHeader(pkt[:]); err != nil || len(probe) != 1 {
		return nil
	}
	for k, v := range probe {
		if _, ok := v.(*rtp.Header); ok {
			return k
		}
	}
	return nil
})

type headerCacheFactory struct{}

func (headerCacheFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &headerCache{}, nil
}

type headerCache struct{ interceptor.NoOp }

// BindRemoteStream parses each packet's header into the stream's own
// header and attributes.
func (*headerCache) BindRemoteStream(_ *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	key := headerKey()
	attr := interceptor.Attributes{}
	hdr := &rtp.Header{}
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := reader.Read(b, a)
		if err != nil || a != nil {
			return n, a, err
		}
		clear(attr)
		if key != nil {
			if _, err := hdr.Unmarshal(b[:n]); err == nil {
				attr[key] = hdr
			}
			// else: left out, and the next GetRTPHeader reports the error.
		}
		return n, attr, nil
	})
}
