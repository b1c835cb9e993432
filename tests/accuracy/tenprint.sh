#!/usr/bin/env bash
# tenprint.sh BIOHUB WORKDIR - scripts/eval-tenprint (two-finger chimeric
# cards from FVC2002, docs/FINGER.md): a card of both fingers must decide
# better than either finger alone, and at least 95 % of its mated probes
# must be at rank 1 with `match` (measured 97.1 %, against 85.7 % and 81.4 %
# for one finger); in the open set, at most 1 of the 40 non-mated cards may
# match at rank 1 (measured 0).
set -uo pipefail
src="$(cd "$(dirname "$0")/../.." && pwd)"
out=$(bash "$src/scripts/eval-tenprint" "$1" "$2") || { echo "FAIL: eval-tenprint"; exit 1; }
echo "$out"
echo "$out" | python3 -c '
import json, sys
r = {l.split(" ", 1)[0]: json.loads(l.split(" ", 1)[1]) for l in sys.stdin if l.strip()}
b, one = r["both"], [r["index-right"], r["index-left"]]
ok = (b["failed"] == 0 and b["match_at_rank1"] >= 0.95
      and all(b["match_at_rank1"] > x["match_at_rank1"] and b["rank1"] >= x["rank1"] for x in one)
      and r["both-open"]["non_mated"] == 40 and r["both-open"]["false_match_rate"] <= 0.025)
sys.exit(0 if ok else 1)' || { echo "FAIL: two fingers do not beat one, or a non-mated card matched"; exit 1; }
echo "tenprint: ok"
