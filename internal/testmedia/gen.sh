#!/bin/sh
# gen.sh regenerates the embedded test media with Debian's ffmpeg. Run it
# once from anywhere; the outputs are committed so that builds and the
# `hotline join` binary never need ffmpeg.
#
#   vp8.ivf  VP8, 640x360, 30 fps, ~1 Mbit/s, 2 s (60 frames), a key frame
#            every 30 frames, testsrc2 (a moving pattern with a frame counter,
#            so a viewer sees at once whether video is alive).
#   opus.ogg Opus, 48 kHz mono, 20 ms frames, 2 s (100 frames), a 440 Hz tone.
#
# -fflags +bitexact keeps the outputs byte-identical from run to run (no random
# Ogg serial number, no encoder version tag), so regenerating does not churn
# the repository. The Go tests check frame counts and durations, not bytes.
set -eu
cd "$(dirname "$0")"
FFMPEG=${FFMPEG:-/usr/bin/ffmpeg}

# -auto-alt-ref 0 / -lag-in-frames 0: no hidden alt-ref frames, so every IVF
# frame is one displayed frame and real-time pacing at 1/30 s is exact.
# -g/-keyint_min 30: a key frame once a second, so a subscriber that joins
# late decodes within a second even if the sender ignored its PLI.
"$FFMPEG" -hide_banner -loglevel error -y \
	-f lavfi -i "testsrc2=size=640x360:rate=30:duration=2" \
	-c:v libvpx -deadline good -cpu-used 4 \
	-b:v 1M -minrate 1M -maxrate 1M -bufsize 500k \
	-g 30 -keyint_min 30 -auto-alt-ref 0 -lag-in-frames 0 \
	-pix_fmt yuv420p -fflags +bitexact -f ivf vp8.ivf

# -frame_duration 20: 20 ms Opus packets (960 samples at 48 kHz), the usual
# WebRTC packetisation. -page_duration 20000 (µs) puts one packet per Ogg
# page, which is what testmedia.ParseOgg expects of Pion's oggreader (it
# returns one page at a time). The tone lasts 1.9935 s = 95688 samples because
# the encoder prepends 312 samples of pre-skip (RFC 7845 §4.2):
# 95688 + 312 = 96000 = exactly 100 packets, so the loop is exactly 2 s.
"$FFMPEG" -hide_banner -loglevel error -y \
	-f lavfi -i "sine=frequency=440:sample_rate=48000:duration=1.9935" \
	-ac 1 -c:a libopus -b:a 32k -frame_duration 20 -application audio \
	-page_duration 20000 -fflags +bitexact -f ogg opus.ogg

ls -l vp8.ivf opus.ogg
