package server

import (
	"context"
	"log/slog"

	"hotline/internal/demo"
)

// StartDemo provisions the demo line in cfg.DataDir (internal/demo) and
// starts a server on it that signs demo enrolments with the demo
// authorities: what `hotline demo` runs, and what the integration tests
// start.
func StartDemo(ctx context.Context, cfg Config, log *slog.Logger) (*Server, *demo.Demo, error) {
	// A bad address, a refused plain HTTP or a bad certificate must fail
	// before the data folder is provisioned.
	if log == nil {
		log = slog.Default()
	}
	if _, _, err := prepare(&cfg, log); err != nil {
		return nil, nil, err
	}
	d, err := demo.Provision(ctx, cfg.DataDir)
	if err != nil {
		return nil, nil, err
	}
	cfg.DemoAuthorities = d.Authorities
	srv, err := Start(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	return srv, d, nil
}
