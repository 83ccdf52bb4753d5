package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"hotline/internal/client"
	"hotline/internal/record"
	"hotline/internal/whep"
)

// startLive serves the recording's live feed over WHEP on addr (none if
// addr is empty): the player page at /, WHEP at /whep. The returned stop
// ends the feed (the cut) and the listener.
func startLive(addr string, cfg *record.Config, log *slog.Logger) (func(), error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--live: %w", err)
	}
	host, _, _ := net.SplitHostPort(ln.Addr().String())
	ip := net.ParseIP(host)
	feed, err := whep.New(ip != nil && ip.IsLoopback(), log)
	if err != nil {
		ln.Close()
		return nil, err
	}
	cfg.Live = func(f client.Frame) {
		feed.Write(f.Track.Participant+"/"+f.Track.Track, f.Track.Name+" "+f.Track.Source, f.Track.Kind, f.Data, f.Arrival)
	}
	hs := &http.Server{Handler: feed.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("live feed", "err", err)
		}
	}()
	log.Info("live feed: the player page and WHEP (POST /whep)", "url", "http://"+ln.Addr().String()+"/")
	return func() {
		feed.End()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
	}, nil
}
