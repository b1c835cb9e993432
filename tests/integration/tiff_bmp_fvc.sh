#!/usr/bin/env bash
# tiff_bmp_fvc.sh BIOHUB REENCODE - FVC2002 DB1_B as TIFF and BMP, the
# containers fingerprint databases ship in (FVC2000-2004 TIFF, FVC2006 BMP):
# the 80 PGMs are written again by tests/tools/reencode.c in twelve layouts
# (TIFF uncompressed, PackBits, LZW, Deflate, MinIsWhite, tiled, palette,
# RGB; BMP 8-bit bottom-up and top-down, 24 and 32 bits), one layout per
# image in turn, so each runs on real prints.  `biohub eval finger` on the
# mixed folder must give every pair the score it gives on the PGM originals:
# the decoders return the pixels exactly.  Skips (77) without ../shared/data.
set -euo pipefail
biohub="$1"
reencode="$2"
src="$(cd "$(dirname "$0")/../.." && pwd)"
db="${BH_DATA:-$src/../shared/data}/fingerprint/fvc2002/DB1_B"
[ -d "$db" ] || { echo "skip: no FVC2002 DB1_B"; exit 77; }
work="$(mktemp -d /tmp/bh-tiff-bmp-fvc.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/mixed"
kinds=(tiff-none tiff-packbits tiff-lzw tiff-deflate tiff-minwhite tiff-tiled tiff-palette
       tiff-rgb bmp8 bmp8-topdown bmp24 bmp32)
i=0
for f in "$db"/*.pgm; do
  kind=${kinds[$(( i % ${#kinds[@]} ))]}
  ext=${kind%%-*}; ext=${ext/bmp*/bmp}; ext=${ext/tiff/tif}
  # the upper-case extension of some Windows exports, on every fifth file
  (( i % 5 == 4 )) && ext=${ext^^}
  "$reencode" "$f" "$work/mixed/$(basename "$f" .pgm).$ext" "$kind"
  i=$(( i + 1 ))
done
echo "wrote $(ls "$work/mixed" | wc -l) images: $(ls "$work/mixed" | sed 's/.*\.//' | sort | uniq -c | tr '\n' ' ')"
"$biohub" eval finger --data "$db" --json --scores "$work/pgm.txt" >"$work/pgm.json"
"$biohub" eval finger --data "$work/mixed" --json --scores "$work/mixed.txt" >"$work/mixed.json"
python3 - "$work" <<'PY'
import json, os, sys
w = sys.argv[1]
def scores(path):
    out = {}
    for line in open(path):
        if not line.startswith("#"):
            a, b, g, s = line.split()
            out[(os.path.splitext(a)[0], os.path.splitext(b)[0])] = (g, int(s))
    return out
p, m = scores(w + "/pgm.txt"), scores(w + "/mixed.txt")
assert len(p) == 3160 and p == m, "scores differ on %d of %d pairs" % (
    sum(p.get(k) != v for k, v in m.items()), len(p))
rp, rm = json.load(open(w + "/pgm.json")), json.load(open(w + "/mixed.json"))
for k in ("eer", "fmr100", "fmr1000", "failed_to_extract", "genuine", "impostor"):
    assert rp[k] == rm[k], (k, rp[k], rm[k])
print("3160 pairs, same scores; EER %.4f on both" % rp["eer"])
PY
