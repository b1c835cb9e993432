#!/usr/bin/env bash
# ljpeg_fvc.sh BIOHUB - FVC2002 DB1_B as lossless JPEG: the 80 images are
# encoded by DCMTK (scripts/make-ljpeg-fixtures; predictor 1..7 by
# impression, so each predictor runs on real prints) and `biohub eval finger`
# on them must give every pair the score it gives on the PGM originals, and
# the same EER: the decoder returns the prints' pixels exactly.  Skips (77)
# without ../shared/data or without DCMTK (scripts/setup installs it).
set -euo pipefail
biohub="$1"
src="$(cd "$(dirname "$0")/../.." && pwd)"
db="${BH_DATA:-$src/../shared/data}/fingerprint/fvc2002/DB1_B"
[ -d "$db" ] || { echo "skip: no FVC2002 DB1_B"; exit 77; }
command -v dcmcjpeg >/dev/null && command -v img2dcm >/dev/null \
  || { echo "skip: no DCMTK (scripts/setup)"; exit 77; }
work="$(mktemp -d /tmp/bh-ljpeg-fvc.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/ljpeg"
for f in "$db"/*.pgm; do
  name=$(basename "$f" .pgm)
  sv=$(( (${name#*_} - 1) % 7 + 1 ))
  bash "$src/scripts/make-ljpeg-fixtures" "$f" "$work" "$sv:0" >/dev/null
  mv "$work/${name}_sv${sv}_pt0.jpg" "$work/ljpeg/$name.jpg"
done
echo "encoded $(ls "$work/ljpeg" | wc -l) images as lossless JPEG"
"$biohub" eval finger --data "$db" --json --scores "$work/pgm.txt" >"$work/pgm.json"
"$biohub" eval finger --data "$work/ljpeg" --json --scores "$work/jpg.txt" >"$work/jpg.json"
python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
def scores(path, ext):
    out = {}
    for line in open(path):
        if not line.startswith("#"):
            a, b, g, s = line.split()
            out[(a.replace(ext, ""), b.replace(ext, ""))] = (g, int(s))
    return out
p, j = scores(w + "/pgm.txt", ".pgm"), scores(w + "/jpg.txt", ".jpg")
assert len(p) == 3160 and p == j, "scores differ on %d of %d pairs" % (
    sum(p.get(k) != v for k, v in j.items()), len(p))
rp, rj = json.load(open(w + "/pgm.json")), json.load(open(w + "/jpg.json"))
for k in ("eer", "fmr100", "fmr1000", "failed_to_extract"):
    assert rp[k] == rj[k], (k, rp[k], rj[k])
print("3160 pairs, same scores; EER %.4f on both" % rp["eer"])
PY
