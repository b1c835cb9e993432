#!/usr/bin/env bash
# search_position.sh BIOHUB - a finger probe of known position competes in
# the first stage with its own position only (bh_search.c, pos_open).
#
# A crafted gallery: the mate of FVC2002 DB1_B 103_2 is enrolled at position 2
# with its real MCC template but a first-stage code that is the complement of
# the probe's (Hamming similarity 0), and 600 other subjects at position 3
# carry the probe's own code (similarity 256) and another finger's MCC
# template.  Searched as a plain image (position unknown), the 512 codes the
# engine hands to MCC are all position-3 subjects, so the mate is missed.
# Searched as a transaction saying "position 2", or as the image with
# `--position 2`, only position 2 is scanned and the mate is found at rank 1.
# Without a position, `--depth 1024` re-ranks all 601 templates and finds it.
# A card whose mate is crowded out at one position and found at another is
# filled in: the crowded finger's score joins the sum (bh_search.c fill_in).
# Skips (77) without ../shared/data.
set -uo pipefail
biohub="$1"
src="$(cd "$(dirname "$0")/../.." && pwd)"
data="${BH_DATA:-$src/../shared/data}"
fvc="$data/fingerprint/fvc2002/DB1_B"
[ -f "$fvc/103_2.pgm" ] || { echo "skip: no shared data"; exit 77; }
work="$(mktemp -d /tmp/bh-search-pos.XXXXXX)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# real templates: the probe's code, the mate's and a stranger's MCC blobs
"$biohub" gallery create "$work/src.db" >/dev/null || fail "create"
for s in 103_2 103_1 101_1 104_1; do
  "$biohub" enroll "$work/src.db" --ref "$s" --finger "1=$fvc/$s.pgm" >/dev/null || fail "enrol $s"
done
python3 - "$work" <<'PY' || fail "template export"
import sqlite3, sys
w = sys.argv[1]
db = sqlite3.connect(w + "/src.db")
def blobs(ref):
    return db.execute("select t.code, t.full from templates t join subjects s on s.id = t.subject_id"
                      " where s.external_ref = ?", (ref,)).fetchone()
probe_code = blobs("103_2")[0]
open(w + "/mate.code", "wb").write(bytes(b ^ 0xFF for b in probe_code))
open(w + "/mate.full", "wb").write(blobs("103_1")[1])
open(w + "/other.code", "wb").write(probe_code)
open(w + "/other.full", "wb").write(blobs("101_1")[1])
open(w + "/mate7.code", "wb").write(blobs("104_1")[0])
open(w + "/mate7.full", "wb").write(blobs("104_1")[1])
with open(w + "/bulk3", "w") as f:  # fill-in gallery (below)
    f.write("mate finger:2=mate.code full:finger:2=mate.full"
            " finger:7=mate7.code full:finger:7=mate7.full\n")
    for i in range(600):
        f.write("other-%d finger:2=other.code full:finger:2=other.full\n" % i)
with open(w + "/bulk", "w") as f:
    f.write("mate finger:2=mate.code full:finger:2=mate.full\n")
    for i in range(600):
        f.write("other-%d finger:3=other.code full:finger:3=other.full\n" % i)
PY
"$biohub" gallery create "$work/g.db" >/dev/null || fail "create"
"$biohub" gallery enroll "$work/g.db" --bulk "$work/bulk" --quiet >/dev/null || fail "bulk enrol"
python3 "$src/scripts/an2k-write" "$work/p2.an2k" "2:500:$fvc/103_2.pgm" || fail "an2k-write"

out=$("$biohub" search "$work/g.db" --modality finger --k 10 --json "$fvc/103_2.pgm") \
  || fail "image search"
echo "$out" | cut -c1-300
echo "$out" | python3 -c 'import json,sys; c=json.load(sys.stdin)["candidates"];
sys.exit(0 if c and all(x["subject"] != "mate" for x in c) else 1)' \
  || fail "the whole-gallery first stage should have crowded the mate out"

out=$("$biohub" search "$work/g.db" --modality finger --k 10 --json "$work/p2.an2k") \
  || fail "position-2 search"
echo "$out" | cut -c1-300
echo "$out" | python3 -c 'import json,sys; c=json.load(sys.stdin)["candidates"];
sys.exit(0 if len(c) == 1 and c[0]["subject"] == "mate" and c[0]["match"] else 1)' \
  || fail "the position-2 probe did not find its mate alone at rank 1"
# the simulated device gives the same ranks (one engine per position there too)
if "$biohub" search "$work/g.db" --modality finger --backend fpga --k 1 "$fvc/103_2.pgm" >/dev/null 2>&1; then
  out=$("$biohub" search "$work/g.db" --modality finger --k 10 --backend fpga --json "$work/p2.an2k") \
    || fail "fpga position-2 search"
  echo "$out" | cut -c1-300
  echo "$out" | python3 -c 'import json,sys; r=json.load(sys.stdin); c=r["candidates"];
sys.exit(0 if r["backend"] == "fpga" and len(c) == 1 and c[0]["subject"] == "mate" else 1)' \
    || fail "the fpga backend ranked the position-2 probe differently"
else
  echo "no fpga backend in this build: device check skipped"
fi
# the same image with --position 2 (a finger image of known position)
out=$("$biohub" search "$work/g.db" --modality finger --k 10 --position 2 --json "$fvc/103_2.pgm") \
  || fail "--position 2 search"
echo "$out" | cut -c1-300
echo "$out" | python3 -c 'import json,sys; c=json.load(sys.stdin)["candidates"];
sys.exit(0 if len(c) == 1 and c[0]["subject"] == "mate" and c[0]["match"] else 1)' \
  || fail "--position 2 did not find the mate alone at rank 1"
# a deeper re-rank reaches the crowded-out mate without a position: 601
# templates, all in a re-rank of depth 1024
out=$("$biohub" search "$work/g.db" --modality finger --k 10 --depth 1024 --json "$fvc/103_2.pgm") \
  || fail "--depth 1024 search"
echo "$out" | cut -c1-300
echo "$out" | python3 -c 'import json,sys; c=json.load(sys.stdin)["candidates"];
sys.exit(0 if c and c[0]["subject"] == "mate" and c[0]["match"] else 1)' \
  || fail "--depth 1024 did not bring the mate to rank 1"
"$biohub" search "$work/g.db" --modality finger --depth 70000 "$fvc/103_2.pgm" 2>"$work/err" \
  && fail "a re-rank depth of 70000 was accepted"
cat "$work/err"
# a subject's score is its best template per probe finger, never a sum over
# its templates: "twice" holds 103_1 and 103_3 (both of unknown position),
# "once" holds 103_1 only; the position-2 card of 103_2 scores both the same
"$biohub" gallery create "$work/g2.db" >/dev/null || fail "create g2"
"$biohub" enroll "$work/g2.db" --ref once --finger "0=$fvc/103_1.pgm" >/dev/null || fail "enrol once"
"$biohub" enroll "$work/g2.db" --ref twice --finger "0=$fvc/103_1.pgm" --finger "0=$fvc/103_3.pgm" \
  >/dev/null || fail "enrol twice"
out=$("$biohub" search "$work/g2.db" --modality finger --json "$work/p2.an2k") || fail "g2 search"
echo "$out" | cut -c1-300
echo "$out" | python3 -c 'import json,sys; c={x["subject"]: x["score"] for x in json.load(sys.stdin)["candidates"]};
sys.exit(0 if len(c) == 2 and c["once"] == c["twice"] > 0 else 1)' \
  || fail "a subject with two templates did not score its best one"
# fill-in: a card of 103_2 (position 2) and 104_2 (position 7); the mate's
# position-2 finger is crowded out of its position's first stage by 600
# position-2 subjects, its position-7 finger brings it through.  Its score
# is then the sum of both fingers' MCC scores, the position-2 one filled in
# by comparing the card's finger with the mate's template directly; each
# is measured alone (position 2 needs --depth 1024 to reach the mate).
"$biohub" gallery create "$work/g3.db" >/dev/null || fail "create g3"
"$biohub" gallery enroll "$work/g3.db" --bulk "$work/bulk3" --quiet >/dev/null || fail "bulk enrol g3"
python3 "$src/scripts/an2k-write" "$work/p27.an2k" "2:500:$fvc/103_2.pgm" "7:500:$fvc/104_2.pgm" \
  || fail "an2k-write p27"
s2=$("$biohub" search "$work/g3.db" --modality finger --k 1 --position 2 --depth 1024 --json \
  "$fvc/103_2.pgm") || fail "g3 position-2 search"
s7=$("$biohub" search "$work/g3.db" --modality finger --k 1 --position 7 --json "$fvc/104_2.pgm") \
  || fail "g3 position-7 search"
out=$("$biohub" search "$work/g3.db" --modality finger --k 3 --json "$work/p27.an2k") \
  || fail "g3 card search"
echo "$out" | cut -c1-300
python3 - "$s2" "$s7" "$out" <<'PY' || fail "the card's crowded-out finger was not filled in"
import json, sys
s2, s7, card = (json.loads(a) for a in sys.argv[1:4])
a, b, c = s2["candidates"][0], s7["candidates"][0], card["candidates"][0]
assert a["subject"] == b["subject"] == c["subject"] == "mate", (a, b, c)
assert a["score"] > 0 and b["score"] > 0, (a, b)
assert c["score"] == a["score"] + b["score"], (c["score"], a["score"], b["score"])
print("fill-in: %d = %d (position 2, filled in) + %d (position 7)" % (c["score"], a["score"], b["score"]))
PY
echo "search_position: ok"
