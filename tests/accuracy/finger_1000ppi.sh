#!/usr/bin/env bash
# finger_1000ppi.sh BIOHUB UPSAMPLE WORKDIR - the 1000-ppi input path: the 80
# FVC2002 DB1_B prints scaled up 2x (tests/tools/upsample.c, Catmull-Rom)
# and evaluated with --ppi 1000, so the extractor resamples them back to its
# 500-ppi frame.  Measured 4.63 % (the 500-ppi originals: 4.63 %); the bound
# is the DB1_B test's.  Skips (77) without ../shared/data.
set -euo pipefail
biohub="$1"
upsample="$2"
work="$3"
src="$(cd "$(dirname "$0")/../.." && pwd)"
db="${BH_DATA:-$src/../shared/data}/fingerprint/fvc2002/DB1_B"
[ -d "$db" ] || { echo "skip: no FVC2002 DB1_B"; exit 77; }
rm -rf "$work"
mkdir -p "$work/x2"
for f in "$db"/*.pgm; do
  "$upsample" "$f" "$work/x2/$(basename "$f")" 2
done
"$biohub" eval finger --data "$work/x2" --ppi 1000 --json --max-eer 0.06
