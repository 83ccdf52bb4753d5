// Command hotline is the whole product in one binary: the server and the
// native endpoint, chosen by subcommand.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=..."; a plain
// `go build` reports the development version.
var version = "0.1.0-dev"

const usage = `hotline — a secure line for high-stakes talks

usage:
  hotline demo    [--listen ADDR] [--data DIR] [--udp-port N] [--tcp-port N] [--turn-port N] [--tls-cert F --tls-key F] [--metrics-listen ADDR]   a complete line with enrolment links (demo only)
  hotline serve   [--listen ADDR] [--data DIR] [--udp-port N] [--tcp-port N] [--turn-port N] [--public-ip IP] [--tls-cert F --tls-key F | --insecure-http] [--metrics-listen ADDR]
                  [--host NAME]... [--max-conns N] [--max-conns-per-address N] [--join-timeout D] [--empty-call-grace D] [--pending-ttl D]
                  [--local-origin LINE=http://127.0.0.1:PORT]... [--webhook URL]... [--probe-retention D]   (demo takes these too)
  hotline open    --server URL [--listen 127.0.0.1:8790] [--ca FILE]   the web client from this binary for a remote line server (local client mode)
  hotline officer --server URL --line L --key FILE [--passphrase-file F] [--ca FILE] [--listen 127.0.0.1:8791]   the side's approval page, from this binary
  hotline cert    init --host H[,H...] --out DIR   a local CA and server certificate for a trial without a PKI
  hotline line    add --name L --side NAME=PUBKEY --side NAME=PUBKEY [--data DIR] | show --name L [--json] [--data DIR]
  hotline authority init --side NAME --out FILE [--passphrase-file F] | show --key FILE | sign --key FILE --request REQ [--valid 720h] [--out CRED]
                  | requests | approve --id ID | reject --id ID   --server URL --line L --key FILE   the side's enrolment queue
  hotline device  init --out FILE | request --device FILE --side S --name N --roles R[,R] | install --device FILE --credential F --pins F
  hotline join    --server URL --line L --call NAME --device FILE [--audio-only] [--cameras N] [--for DURATION] [--stats] [--witness] [--open-press] [--ca FILE]
  hotline call    request | accept ID | decline ID | cancel ID | start ID | end ID | list | show ID | history
                  --server URL --device FILE --line L [--json] [--ca FILE]; request: --when W [--kind phone] [--duration 45m] [--public-opening 10m]
                  [--agenda ITEM]... [--adviser NAME]... [--participant NAME=ROLE]...; show: [--ics]
  hotline record  --server URL --line L --call C --device PRESS.device --out DIR [--for D] [--live ADDR] [--ca FILE]   the press recorder
  hotline footage verify DIR --pins F   check a recording's signed manifest against the line's pins (F: hotline line show --json)
  hotline segment public | private | show --server URL --device FILE --line L --call C [--json] [--ca FILE]   open the public segment, go private
  hotline probe   --server URL --line L --device FILE [--every 15m] [--peer-side S] [--once [--json]] [--ca FILE]   readiness test calls (a probe device)
  hotline audit   export | sign [--out HEAD] --server URL --line L --device F [--ca FILE] | verify --file EXPORT --pins F [--head HEAD]...
                  the line's hash-chained call record: export it (JSON), sign its head (operators), verify it offline
  hotline readout publish --server URL --line L --device F --call C --file R.md [--corrects ID] | verify --server URL --line L --pins F
                  a side's signed readout of a call (press officer or operator); verify checks every readout of the line
  hotline bench   [--server URL --metrics URL --data DIR [--ca FILE]] [--calls N] [--participants P] [--duration D] [--ramp [--step N] [--max-calls N]] [--json]
  hotline backup  --data DIR --out FILE            a consistent copy of the database, safe while serving
  hotline restore --data DIR --from FILE [--force] put a backup in place (no server running on DIR)
  hotline version

Run "hotline COMMAND --help" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "hotline:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "demo":
		return runDemo(ctx, args[1:], stdout, stderr)
	case "open":
		return runOpen(ctx, args[1:], stdout, stderr)
	case "officer":
		return runOfficer(ctx, args[1:], stdout, stderr)
	case "cert":
		return runCert(args[1:], stdout, stderr)
	case "line":
		return runLine(ctx, args[1:], stdout, stderr)
	case "authority":
		return runAuthority(ctx, args[1:], stdout, stderr)
	case "device":
		return runDevice(ctx, args[1:], stdout, stderr)
	case "join":
		return runJoin(ctx, args[1:], stdout, stderr)
	case "call":
		return runCall(ctx, args[1:], stdout, stderr)
	case "record":
		return runRecord(ctx, args[1:], stdout, stderr)
	case "footage":
		return runFootage(args[1:], stdout, stderr)
	case "segment":
		return runSegment(ctx, args[1:], stdout, stderr)
	case "probe":
		return runProbe(ctx, args[1:], stdout, stderr)
	case "audit":
		return runAudit(ctx, args[1:], stdout, stderr)
	case "readout":
		return runReadout(ctx, args[1:], stdout, stderr)
	case "bench":
		return runBench(ctx, args[1:], stdout, stderr)
	case "backup":
		return runBackup(ctx, args[1:], stdout, stderr)
	case "restore":
		return runRestore(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "hotline", version)
		return nil
	case "help", "--help", "-h", "-help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}
