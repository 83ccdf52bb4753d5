#!/bin/sh
# Regenerates internal/whep/slate.ivf, the VP8 slate the press recorder's
# live feed sends every WHEP player at the cut (internal/whep, End): three
# seconds of "The public part of this meeting has ended", 640x360 at 15
# frames a second, a key frame each second. Needs ffmpeg with libvpx and
# drawtext (Debian's ffmpeg) and the DejaVu fonts.
set -eu
cd "$(dirname "$0")/.."
font=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "color=c=0x1b1f24:s=640x360:r=15:d=3" \
	-vf "drawtext=fontfile=$font:text='The public part of this meeting has ended':fontcolor=white:fontsize=26:x=(w-tw)/2:y=(h-th)/2" \
	-c:v libvpx -b:v 150k -g 15 -keyint_min 15 -auto-alt-ref 0 -lag-in-frames 0 -deadline good -pix_fmt yuv420p -fflags +bitexact -an -f ivf internal/whep/slate.ivf
ls -l internal/whep/slate.ivf
