package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"hotline/internal/server"
	"hotline/internal/store"
)

// runBackup implements `hotline backup --data DIR --out FILE`: a consistent
// copy of the database, safe while the server runs (store.Backup).
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", server.DefaultDataDir, "data folder of the server (it may be running)")
	out := fs.String("out", "", "backup `file` to write, mode 0600; never overwritten (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("backup: unexpected argument %q", fs.Arg(0))
	}
	if *out == "" {
		return errors.New("backup: --out FILE is required")
	}
	v, err := store.Backup(ctx, *data, *out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s (schema version %d)\n", *data, *out, v)
	return nil
}

// runRestore implements `hotline restore --data DIR --from FILE [--force]`.
func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", server.DefaultDataDir, "data folder to restore into; no server may be running on it")
	from := fs.String("from", "", "backup `file` made by hotline backup (required)")
	force := fs.Bool("force", false, "replace the database the folder already holds")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("restore: unexpected argument %q", fs.Arg(0))
	}
	if *from == "" {
		return errors.New("restore: --from FILE is required")
	}
	v, err := store.Restore(ctx, *data, *from, *force)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s into %s (schema version %d); start the server on it\n", *from, *data, v)
	return nil
}
