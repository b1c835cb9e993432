#!/usr/bin/env bash
# eval_scores.sh BIOHUB WORKDIR - `biohub eval finger --scores` on FVC2002
# DB1_B: one line per unordered pair (3,160: 280 genuine, 2,880 impostor,
# each pair once), and the EER, FMR100 and FMR1000 that eval prints are
# recomputed here from those lines by an independent count, so the figures
# in docs/FINGER.md rest on two implementations of the protocol.
set -euo pipefail
biohub="$1"
work="$2"
src="$(cd "$(dirname "$0")/../.." && pwd)"
db="${BH_DATA:-$src/../shared/data}/fingerprint/fvc2002/DB1_B"
[ -d "$db" ] || { echo "skip: no FVC2002 DB1_B"; exit 77; }
mkdir -p "$work"
"$biohub" eval finger --data "$db" --json --scores "$work/scores.txt" >"$work/eval.json"
python3 - "$work/eval.json" "$work/scores.txt" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
pairs, gen, imp = set(), [], []
for line in open(sys.argv[2]):
    if line.startswith("#"):
        continue
    a, b, g, s = line.split()
    key = tuple(sorted((a, b)))
    assert key not in pairs, f"pair {key} twice"
    pairs.add(key)
    assert (a.split("_")[0] == b.split("_")[0]) == (g == "1"), line
    (gen if g == "1" else imp).append(int(s))
ng, ni = len(gen), len(imp)
assert (ng, ni) == (r["genuine"], r["impostor"]) == (280, 2880), (ng, ni)
# thresholds: below every score, then just above each distinct score
best, eer, f100, f1000 = 2.0, None, 1.0, 1.0
for t in [None] + sorted(set(gen + imp)):
    fnmr = 0.0 if t is None else sum(x <= t for x in gen) / ng
    fmr = 1.0 if t is None else sum(x > t for x in imp) / ni
    if abs(fnmr - fmr) < best:
        best, eer = abs(fnmr - fmr), (fnmr + fmr) / 2
    if fmr <= 0.01:
        f100 = min(f100, fnmr)
    if fmr <= 0.001:
        f1000 = min(f1000, fnmr)
for name, mine in (("eer", eer), ("fmr100", f100), ("fmr1000", f1000)):
    assert abs(mine - r[name]) < 1e-5, (name, mine, r[name])
print(f"eval_scores: {ng} genuine, {ni} impostor pairs; eer {eer:.4f} fmr100 {f100:.4f} "
      f"fmr1000 {f1000:.4f}, as eval printed")
PY
