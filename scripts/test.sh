#!/usr/bin/env bash
# Runs hotline's whole test suite, installing what it needs first.
#
# Everything that sends WebRTC traffic runs inside a fresh network namespace
# that has only a loopback interface, so no test can reach any address but
# 127.0.0.1 (docs/ARCHITECTURE.md, "Tests"). Modules and Chromium are fetched
# before entering it.
#
# Extra arguments go to `go test`, e.g. scripts/test.sh -run TestTwoCameras -v;
# arguments naming packages (./internal/server/, hotline/...) replace ./...
#
# Without arguments (the whole suite, as .ci/run calls it), every fuzz
# target (found with grep, so new ones are included) then runs for
# $HOTLINE_FUZZTIME each (default 10s; "off" skips them), one at a time;
# a finding fails the run and is kept under the package's testdata/fuzz.
#
# Tiers: `scripts/test.sh -short` is the fast inner loop (unit tests; the
# integration tiers with real servers and Pion peers, and the browser tier,
# skip with a message saying so). Without -short everything runs. In CI
# (CI=true) nothing may skip: -short is refused here, and a missing part
# (Chromium) fails its tests.
set -euo pipefail
cd "$(dirname "$0")/.."

short=false
for arg in "$@"; do
	case "$arg" in
	-short | -short=true | --short | --short=true) short=true ;;
	esac
done
if [ "$short" = true ] && [ "${CI:-}" = true ]; then
	echo "test.sh: -short skips the integration and browser tiers; CI runs everything" >&2
	exit 1
fi

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "test.sh: $1 needs root (run as root, or install it yourself)" >&2
		exit 1
	fi
}

# Browser tests drive Debian's Chromium (../shared/BROWSER_TESTS.md); the
# short tier does not need it.
if [ "$short" = false ] && ! command -v chromium >/dev/null 2>&1; then
	need_root "installing chromium"
	echo "test.sh: installing chromium (about a minute)"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
[ "$short" = true ] || command -v chromium >/dev/null 2>&1 || { echo "test.sh: chromium is missing and could not be installed" >&2; exit 1; }
command -v ip >/dev/null 2>&1 || { need_root "installing iproute2"; apt-get install -y -qq iproute2 >/dev/null; }
# Multi-site tests (internal/topology) make faults with nftables (no netem here).
command -v nft >/dev/null 2>&1 || { need_root "installing nftables"; apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nftables >/dev/null; }
# The key protocol's model (model/, docs/MODEL.md) is checked with SPIN,
# which compiles its verifier with gcc.
# The press recorder's files are read back with ffprobe (Debian's ffmpeg).
command -v ffprobe >/dev/null 2>&1 || { need_root "installing ffmpeg"; apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null; }
command -v ffprobe >/dev/null 2>&1 || { echo "test.sh: ffprobe is missing and could not be installed" >&2; exit 1; }
for tool in spin gcc; do
	command -v "$tool" >/dev/null 2>&1 || { need_root "installing $tool"; apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null; }
	command -v "$tool" >/dev/null 2>&1 || { echo "test.sh: $tool is missing and could not be installed" >&2; exit 1; }
done

go mod download
go build ./...
go vet ./...
# staticcheck is a tool of the module (go.mod's tool directive), so its
# version is pinned and it runs offline once downloaded. Any finding fails.
go tool staticcheck ./...

# A loopback-only world for the tests (and, through scripts/netns-exec,
# one of its own for each package's test binary). unshare needs root (or user
# namespaces); without it the suite refuses to run rather than risk sending
# media to a real interface.
if ! unshare --net true 2>/dev/null; then
	echo "test.sh: cannot create a network namespace (unshare --net); refusing to run WebRTC tests outside one" >&2
	exit 1
fi
pkgs=./...
for a in "$@"; do
	case "$a" in ./*|hotline/*|hotline) pkgs= ;; esac
done
# Fuzz targets, as "package-dir FuzzName" lines; only for the whole suite.
fuzztime=${HOTLINE_FUZZTIME:-10s}
targets=
if [ $# -eq 0 ] && [ "$fuzztime" != off ]; then
	targets=$(grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | sed -E 's#^\./(.*)/[^/]*_test\.go:func (Fuzz.*)$#\1 \2#' | sort -u || true)
fi
FUZZ_TARGETS=$targets FUZZ_TIME=$fuzztime exec unshare --net -- sh -c '
	ip link set lo up || exit 1
	export GOPROXY=off GOFLAGS=-mod=readonly
	go test -race -count=1 -timeout 12m -exec "$PWD/scripts/netns-exec" "$@" || exit 1
	[ -z "$FUZZ_TARGETS" ] && exit 0
	# Go'"'"'s fuzzer sometimes ends a short run with a bare "context deadline
	# exceeded" when the run ends while a worker is busy (minimizing a new
	# interesting input shows as 0 execs/sec), keeping no input: that one
	# (and only that one) is tried again, up to three runs in all. A real
	# finding keeps its input under testdata/fuzz and fails at once.
	echo "$FUZZ_TARGETS" | while read -r dir name; do
		for try in 1 2 3; do
			echo "fuzz: $name ($dir) for $FUZZ_TIME"
			out=$(go test -run "^\$" -fuzz "^$name\$" -fuzztime "$FUZZ_TIME" "./$dir" 2>&1) && { echo "$out" | tail -1; break; }
			echo "$out"
			if [ "$try" != 3 ] && echo "$out" | grep -q "context deadline exceeded" && ! echo "$out" | grep -q "Failing input written to"; then
				echo "fuzz: $name: the fuzzer timed out waiting for a worker (no input kept); again"
				continue
			fi
			echo "fuzz: $name failed (a failing input is kept under $dir/testdata/fuzz/$name)" >&2
			exit 1
		done
	done
' sh "$@" $pkgs
