#!/usr/bin/env bash
# Renders SVG charts of `cargo xtask perf report` in headless Chromium and
# checks that each screenshot is a picture, not a blank page: at least a few
# colours and a share of non-background pixels. Catches SVG a browser cannot
# draw (a plotters or font problem) that a text comparison would miss.
#
# Usage: scripts/render-charts.sh [SVG...]   (default: reports/charts/*.svg)
# PNGs go to $CHART_PNG_DIR (default target/chart-png/) to be looked at.
# Without Chromium it skips, unless REQUIRE_CHROMIUM=1 (CI), then it fails.
set -euo pipefail
cd "$(dirname "$0")/.."

chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
    if [ "${REQUIRE_CHROMIUM:-0}" = 1 ]; then
        echo "render-charts: FAILED: $chromium not found (apt-get install chromium)" >&2
        exit 1
    fi
    echo "render-charts: $chromium not found, skipped"
    exit 0
fi

if [ $# -eq 0 ]; then
    set -- reports/charts/*.svg
fi
out=${CHART_PNG_DIR:-target/chart-png}
mkdir -p "$out"
status=0
for svg in "$@"; do
    if [ ! -f "$svg" ]; then
        echo "render-charts: FAILED: no such chart $svg" >&2
        status=1
        continue
    fi
    png="$out/$(basename "${svg%.svg}").png"
    profile=$(mktemp -d)
    rm -f "$png"
    # No network, no first-run work: the screenshot is the only job.
    timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking --disable-component-update \
        --disable-sync --hide-scrollbars --user-data-dir="$profile" \
        --screenshot="$png" --window-size=900,600 "file://$(realpath "$svg")" \
        >/dev/null 2>&1 || true
    rm -rf "$profile"
    if [ ! -s "$png" ]; then
        echo "render-charts: FAILED: chromium wrote no screenshot of $svg" >&2
        status=1
        continue
    fi
    python3 - "$png" <<'PY' || status=1
# Decodes the PNG with the standard library only (zlib + the five scanline
# filters) and counts colours, so the check needs no imaging package.
import struct, sys, zlib

path = sys.argv[1]
data = open(path, "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, header = 8, b"", None
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        header = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    pos += 12 + length
width, height, depth, colour = header[:4]
assert depth == 8 and colour in (2, 6), f"unexpected PNG format depth={depth} colour={colour}"
bpp = 3 if colour == 2 else 4
raw = zlib.decompress(idat)
stride = width * bpp
prev = bytearray(stride)
counts = {}
for y in range(height):
    row = raw[y * (stride + 1):(y + 1) * (stride + 1)]
    f, line = row[0], bytearray(row[1:])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1:
            line[i] = (line[i] + a) & 255
        elif f == 2:
            line[i] = (line[i] + b) & 255
        elif f == 3:
            line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            line[i] = (line[i] + pred) & 255
    for x in range(0, stride, bpp):
        px = bytes(line[x:x + 3])
        counts[px] = counts.get(px, 0) + 1
    prev = line
total = width * height
background = max(counts.values())
ink = 1 - background / total
ok = len(counts) >= 3 and ink >= 0.01
verdict = "ok" if ok else "FAILED: looks blank"
print(f"render-charts: {path}: {width}x{height}, {len(counts)} colours, {ink:.1%} non-background: {verdict}")
sys.exit(0 if ok else 1)
PY
done
exit $status
