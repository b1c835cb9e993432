#!/usr/bin/env bash
# search.sh BIOHUB - `biohub search` in process on a small real gallery
# (scripts/demo-gallery): another impression of an enrolled finger, palm and
# face is found at rank 1 with match set; --json parses; lossless JPEG probes
# (plain and in ANSI/NIST records) match like their WSQ original; --ppi
# (search and enrol) handles 1000-ppi images; a truncated JPEG,
# a probe of the wrong size and a missing gallery each exit non-zero with a
# message.  Skips (77) without ../shared/data.
set -uo pipefail
biohub="$1"
src="$(cd "$(dirname "$0")/../.." && pwd)"
data="${BH_DATA:-$src/../shared/data}"
[ -d "$data/fingerprint/fvc2002/DB1_B" ] || { echo "skip: no shared data"; exit 77; }
work="$(mktemp -d /tmp/bh-search-test.XXXXXX)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

bash "$src/scripts/demo-gallery" "$biohub" "$work/g.db" 5 | tee "$work/enrolled"
searches=0
rank1() { # modality image expected-ref [candidates, default 3]
  local out
  searches=$((searches + 1))
  out=$("$biohub" search "$work/g.db" --modality "$1" --k 3 --json "$2") || fail "$1 search of $2"
  echo "$out"
  echo "$out" | python3 -c 'import json,sys; c=json.load(sys.stdin)["candidates"];
sys.exit(0 if len(c)==int(sys.argv[2]) and c[0]["subject"]==sys.argv[1] and c[0]["match"]
         and all(c[i]["score"]>=c[i+1]["score"] for i in range(len(c)-1)) else 1)' "$3" "${4:-3}" \
    || fail "$1: $2 did not find $3 at rank 1"
}
grep -q "enrolled finger 5" "$work/enrolled" || fail "finger enrolment"
rank1 finger "$data/fingerprint/fvc2002/DB1_B/103_2.pgm" fvc-103
if grep -q "enrolled palm 5" "$work/enrolled"; then
  rank1 palm "$data/palm/polyu/Multispectral_G/004/2_01_s.pgm" polyu-004
fi
if grep -q "enrolled face 5" "$work/enrolled"; then
  who=$(ls "$data/face/lfw_dev" | grep -v '\.txt$' | head -n 2 | tail -n 1)
  rank1 face "$data/face/lfw_dev/$who/${who}_0002.jpg" "lfw-$who"
  jpg="$data/face/lfw_dev/$who/${who}_0003.jpg"
  head -c $(( $(stat -c %s "$jpg") / 2 )) "$jpg" > "$work/trunc.jpg"
  searches=$((searches + 1))
  "$biohub" search "$work/g.db" --modality face "$work/trunc.jpg" 2>"$work/err" \
    && fail "truncated JPEG searched"
  cat "$work/err"; [ -s "$work/err" ] || fail "no message for a truncated JPEG"
fi
# ANSI/NIST: `biohub enroll --an2k` (EFS minutiae of 8+ fingers), then the
# same transaction as a probe finds it; a slap-only transaction (two
# four-finger slaps, two plain thumbs) enrols ten fingers through slap
# segmentation and, as a probe (all ten fingertips), finds itself.
nist="$data/fingerprint/nist"
if [ -f "$nist/type9-efs.an2k" ]; then
  "$biohub" enroll "$work/g.db" --ref nist-efs --an2k "$nist/type9-efs.an2k" || fail "an2k enrol"
  # its eight fingers (positions 2..10, none is 1) meet no demo finger (all
  # enrolled as position 1): it is the only candidate
  rank1 finger "$nist/type9-efs.an2k" nist-efs 1
  "$biohub" enroll "$work/g.db" --ref nist-slaps --an2k "$nist/type4-slaps.an2k" >"$work/out" \
    || fail "slap enrol"
  grep -q "nist-slaps (subject [0-9]*, 10 templates)" "$work/out" || fail "slaps: not 10 fingers"
  rank1 finger "$nist/type4-slaps.an2k" nist-slaps 3
  # a card is searched with all its fingers: the fused score is a sum over
  # ten same-position comparisons, more than one finger can score (10000)
  searches=$((searches + 1))
  out=$("$biohub" search "$work/g.db" --modality finger --k 3 --json "$nist/type4-slaps.an2k") \
    || fail "slaps search"
  echo "$out" | python3 -c 'import json,sys; r=json.load(sys.stdin);
sys.exit(0 if r["warning"].startswith("10 fingers searched") and r["candidates"][0]["score"] > 10000 else 1)' \
    || fail "slaps: not searched with ten fingers"
fi
# ISO/INCITS minutiae records: `biohub enroll --fmr` of the INCITS 378-2004
# sample (three fingers, positions 7, 2, 3); the ISO 19794-2 sample (two of
# the same fingers) as a probe finds it; so does NIST's latent transaction,
# searched by the standard Type-9 minutiae marked on its latent, which are
# those of position 3 (the two readers' direction senses agree); the INCITS
# 378-2009 sample (fmr.ansi2007: the first two fingers again) enrols two
# fingers, and a record of an unknown version is refused with a message
if [ -f "$nist/fmr.ansi2004" ]; then
  "$biohub" enroll "$work/g.db" --ref nist-fmr --fmr "$nist/fmr.ansi2004" >"$work/out" \
    || fail "fmr enrol"
  grep -q "nist-fmr (subject [0-9]*, 3 templates)" "$work/out" || fail "fmr: not 3 fingers"
  rank1 finger "$nist/fmr.iso2005" nist-fmr
  rank1 finger "$nist/type9-13.an2k" nist-fmr
  searches=$((searches + 1))
  "$biohub" search "$work/g.db" --modality finger --position 2 "$nist/fmr.iso2005" 2>"$work/err" \
    && fail "a minutiae record searched with a position"
  cat "$work/err"; grep -q "carries its own positions" "$work/err" || fail "no message for the position"
  "$biohub" enroll "$work/g.db" --ref nist-2009 --fmr "$nist/fmr.ansi2007" >"$work/out" \
    || fail "INCITS 378-2009 enrol"
  grep -q "nist-2009 (subject [0-9]*, 2 templates)" "$work/out" || fail "2009: not 2 fingers"
  printf 'FMR\0 21\0' >"$work/v21.fmr"
  "$biohub" enroll "$work/g.db" --ref nist-v21 --fmr "$work/v21.fmr" 2>"$work/err" \
    && fail "a record of version 21 enrolled"
  cat "$work/err"; grep -q "version" "$work/err" || fail "no message for version 21"
fi
# export: `biohub minutiae --fmr` writes the minutiae of the image enrolled
# as fvc-103 as an ISO record (mode 0600); enrolled from that record, the
# finger is found by another impression next to fvc-103 itself, at about its
# score (the record rounds positions to pixels and angles to 1.4 degrees)
fvc103="$data/fingerprint/fvc2002/DB1_B/103_1.pgm"
"$biohub" minutiae "$fvc103" --position 1 --fmr "$work/103.fmr" --json >"$work/out" \
  || fail "minutiae export"
[ "$(stat -c %a "$work/103.fmr")" = 600 ] || fail "the minutiae record is not mode 0600"
"$biohub" enroll "$work/g.db" --ref iso-103 --fmr "$work/103.fmr" >/dev/null || fail "enrol the export"
searches=$((searches + 1))
out=$("$biohub" search "$work/g.db" --modality finger --k 3 --json \
  "$data/fingerprint/fvc2002/DB1_B/103_2.pgm") || fail "search after the export"
echo "$out"
echo "$out" | python3 -c 'import json,sys; c=json.load(sys.stdin)["candidates"]; s={x["subject"]:x for x in c[:2]};
ok = set(s) == {"fvc-103","iso-103"} and all(x["match"] for x in s.values()) and \
     abs(s["iso-103"]["score"] - s["fvc-103"]["score"]) <= 0.25 * s["fvc-103"]["score"]
sys.exit(0 if ok else 1)' || fail "the exported record does not match like its image"
# the same export as an ISO 19794-2:2011 record: the same minutiae, so as a
# probe it finds what the 2005 record finds, at the 2005 record's score
"$biohub" minutiae "$fvc103" --position 1 --fmr "$work/103.2011.fmr" --fmr-version 2011 --json \
  >"$work/out" || fail "minutiae export, 2011"
python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["fmr_edition"] == 2011 else 1)' \
  "$work/out" || fail "the export does not say 2011"
[ "$(head -c 8 "$work/103.2011.fmr" | od -An -c | tr -d ' ')" = 'FMR\0030\0' ] \
  || fail "the 2011 export does not start FMR 030"
searches=$((searches + 2))
s05=$("$biohub" search "$work/g.db" --modality finger --k 1 --json "$work/103.fmr") || fail "2005 probe"
s11=$("$biohub" search "$work/g.db" --modality finger --k 1 --json "$work/103.2011.fmr") || fail "2011 probe"
python3 -c 'import json,sys; a, b = (json.loads(x)["candidates"][0] for x in sys.argv[1:]);
sys.exit(0 if a["subject"] == b["subject"] == "iso-103" and a["score"] == b["score"] else 1)' "$s05" "$s11" \
  || fail "the 2011 export does not search like the 2005 one"
# a finger of known position is compared with that position only: FVC 103
# (enrolled as position 1 by demo-gallery) is found as position 1, not as 5
python3 "$src/scripts/an2k-write" "$work/p1.an2k" "1:500:$data/fingerprint/fvc2002/DB1_B/103_2.pgm"
python3 "$src/scripts/an2k-write" "$work/p5.an2k" "5:500:$data/fingerprint/fvc2002/DB1_B/103_2.pgm"
rank1 finger "$work/p1.an2k" fvc-103
searches=$((searches + 1))
out=$("$biohub" search "$work/g.db" --modality finger --k 3 --json "$work/p5.an2k") || fail "p5 search"
echo "$out" | python3 -c 'import json,sys; c=json.load(sys.stdin)["candidates"];
sys.exit(0 if all(x["subject"] != "fvc-103" and not x["match"] for x in c) else 1)' \
  || fail "a position-5 probe matched a position-1 finger"
# lossless JPEG (tests/data/ljpeg: NIST's img.wsq re-encoded by DCMTK) gives
# the WSQ image's pixels: as a probe, and inside an ANSI/NIST Type-14 record
# (14.011 JPEGL), it finds the WSQ enrolment at exactly the WSQ probe's score
ljpeg="$src/tests/data/ljpeg/nist256_sv1_pt0.jpg"
if [ -f "$nist/img.wsq" ]; then
  "$biohub" enroll "$work/g.db" --ref nist-wsq --finger 2="$nist/img.wsq" >/dev/null \
    || fail "wsq enrol"
  top() { "$biohub" search "$work/g.db" --modality finger --k 1 --json "$1" \
    | python3 -c 'import json,sys; c=json.load(sys.stdin)["candidates"][0]; print(c["subject"], c["score"])'; }
  searches=$((searches + 3))
  want=$(top "$nist/img.wsq"); echo "wsq probe: $want"
  [ "${want% *}" = nist-wsq ] || fail "the WSQ probe did not find its own enrolment"
  got=$(top "$ljpeg"); echo "lossless JPEG probe: $got"
  [ "$got" = "$want" ] || fail "lossless JPEG probe: '$got', WSQ probe: '$want'"
  python3 "$src/scripts/an2k-write" "$work/l.an2k" "2:500:$ljpeg"
  "$biohub" an2k "$work/l.an2k" --decode --json | python3 -c 'import json,sys; i=json.load(sys.stdin)["images"];
sys.exit(0 if len(i)==1 and i[0]["compression"]=="jpegl" and i[0]["decode"]=="ok" else 1)' \
    || fail "an2k: the JPEGL record does not decode"
  got=$(top "$work/l.an2k"); echo "JPEGL Type-14 probe: $got"
  [ "$got" = "$want" ] || fail "JPEGL record probe: '$got', WSQ probe: '$want'"
fi
# a booking transaction: `enroll --an2k` of a Type-14 finger (FVC 106 as
# position 6) and a Type-10 mugshot (an LFW person demo-gallery does not
# enrol) gives 2 templates; another photo of the person, and the transaction
# itself as a face probe, find the subject; a transaction of one mugshot
# enrols one face; one whose "mugshot" has no face (a fingerprint) is refused
if grep -q "enrolled face 5" "$work/enrolled"; then
  who=$(ls "$data/face/lfw_dev" | grep -v '\.txt$' | sed -n 7p)
  python3 "$src/scripts/an2k-write" "$work/book.an2k" \
    "6:500:$data/fingerprint/fvc2002/DB1_B/106_1.pgm" "face:$data/face/lfw_dev/$who/${who}_0001.jpg"
  "$biohub" an2k "$work/book.an2k" --json | python3 -c 'import json,sys; i=json.load(sys.stdin)["images"];
sys.exit(0 if [x["kind"] for x in i] == ["finger", "face"] and i[0]["position"] == 6
and "position" not in i[1] and "impression" not in i[1] else 1)' || fail "an2k: the Type-10 face is not listed as one"
  "$biohub" enroll "$work/g.db" --ref book --an2k "$work/book.an2k" >"$work/out" || fail "booking enrol"
  cat "$work/out"; grep -q "book (subject [0-9]*, 2 templates)" "$work/out" || fail "booking: not finger + face"
  rank1 face "$data/face/lfw_dev/$who/${who}_0002.jpg" book
  rank1 face "$work/book.an2k" book
  rank1 finger "$data/fingerprint/fvc2002/DB1_B/106_2.pgm" book
  python3 "$src/scripts/an2k-write" "$work/mug.an2k" "face:$data/face/lfw_dev/$who/${who}_0003.jpg"
  "$biohub" enroll "$work/g.db" --ref mug --an2k "$work/mug.an2k" >"$work/out" || fail "mugshot enrol"
  grep -q "mug (subject [0-9]*, 1 templates)" "$work/out" || fail "mugshot: not one face"
  python3 "$src/scripts/an2k-write" "$work/noface.an2k" "face:$src/tests/data/ljpeg/nist128_sv1_pt0.jpg"
  "$biohub" enroll "$work/g.db" --ref noface --an2k "$work/noface.an2k" 2>"$work/err" \
    && fail "a transaction without a usable finger or face enrolled"
  cat "$work/err"; grep -q "not enrolled: face image 1" "$work/err" || fail "no note for the faceless image"
fi
# resolution: an impression of FVC 103 scaled up 2x (BH_UPSAMPLE, a test
# tool) and enrolled with --ppi 1000 is found by a 500-ppi impression; a
# 1000-ppi probe matches with --ppi 1000 and matches nothing without it
# (taken as 500 ppi); a WSQ image that states 500 ppi, or a face, refuses it
if [ -x "${BH_UPSAMPLE:-}" ]; then
  "$BH_UPSAMPLE" "$data/fingerprint/fvc2002/DB1_B/103_4.pgm" "$work/103_4_x2.pgm" 2 || fail "upsample"
  "$BH_UPSAMPLE" "$data/fingerprint/fvc2002/DB1_B/103_2.pgm" "$work/103_2_x2.pgm" 2 || fail "upsample"
  "$biohub" enroll "$work/g.db" --ref hi-103 --finger 1="$work/103_4_x2.pgm" --ppi 1000 >/dev/null \
    || fail "enrol at 1000 ppi"
  matched() { # probe [search options]: the subjects with match set
    "$biohub" search "$work/g.db" --modality finger --k 5 --json "${@:2}" "$1" \
      | python3 -c 'import json,sys; print(" ".join(sorted(c["subject"] for c in json.load(sys.stdin)["candidates"] if c["match"])))'
  }
  searches=$((searches + 3))
  got=$(matched "$data/fingerprint/fvc2002/DB1_B/103_2.pgm"); echo "500-ppi probe matches: $got"
  [[ " $got " == *" hi-103 "* ]] || fail "the finger enrolled at 1000 ppi was not matched"
  got=$(matched "$work/103_2_x2.pgm" --ppi 1000); echo "1000-ppi probe, --ppi 1000, matches: $got"
  [[ " $got " == *" fvc-103 "* && " $got " == *" hi-103 "* ]] || fail "--ppi 1000 probe: $got"
  got=$(matched "$work/103_2_x2.pgm"); echo "1000-ppi probe as 500 ppi matches: '$got'"
  [ -z "$got" ] || fail "a 1000-ppi probe matched at 500 ppi: $got"
  if [ -f "$nist/img.wsq" ]; then
    searches=$((searches + 1))
    "$biohub" search "$work/g.db" --modality finger --ppi 1000 "$nist/img.wsq" 2>"$work/err" \
      && fail "a 500-ppi WSQ searched as 1000 ppi"
    cat "$work/err"; grep -q "states 500 ppi" "$work/err" || fail "no message for the WSQ's resolution"
  fi
  searches=$((searches + 1))
  "$biohub" search "$work/g.db" --modality face --ppi 1000 "$work/103_2_x2.pgm" 2>"$work/err" \
    && fail "a face searched with a resolution"
  cat "$work/err"
fi
printf 'P5\n8 8\n255\n' > "$work/tiny.pgm"; head -c 64 /dev/zero >> "$work/tiny.pgm"
searches=$((searches + 1))
"$biohub" search "$work/g.db" --modality finger "$work/tiny.pgm" 2>"$work/err" \
  && fail "an 8x8 image searched"
cat "$work/err"
"$biohub" search "$work/none.db" --modality finger "$data/fingerprint/fvc2002/DB1_B/103_2.pgm" \
  2>"$work/err" && fail "a missing gallery searched"
cat "$work/err"
[ ! -e "$work/none.db" ] || fail "search created a gallery file"
# every local search left one audit row (ok or error), none for the missing gallery
rows=$(python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]);
print(c.execute("select count(*) from audit where agency like ?",("local:%",)).fetchone()[0])' "$work/g.db")
echo "audit rows: $rows for $searches local searches"
[ "$rows" = "$searches" ] || fail "audit has $rows rows for $searches searches"
# the search bench: both fetch paths (reader handles, and the shared handle
# as its anchor) search every probe; a missing gallery argument is a usage error
mkdir "$work/probes"
cp "$data"/fingerprint/fvc2002/DB1_B/10[1-3]_[12].pgm "$work/probes/"
out=$("$biohub" bench search "$work/g.db" --data "$work/probes" --rounds 1 --json) \
  || fail "bench search"
echo "$out"
echo "$out" | python3 -c 'import json,sys; j=json.load(sys.stdin);
sys.exit(0 if j["searches"]==6 and j["failed_to_extract"]==0 and j["searches_per_s"]>0
         and j["anchor_searches_per_s"]>0 and j["rerank_ms_mean"]>0 and j["ratio_vs_anchor"]>0 else 1)' \
  || fail "bench search figures"
"$biohub" bench search --rounds 1 2>/dev/null; [ $? = 2 ] || fail "bench search without a gallery"
# gallery copy: the copy has 8 KiB pages and answers the same search
"$biohub" gallery copy "$work/g.db" "$work/copy.db" || fail "gallery copy"
"$biohub" gallery copy "$work/g.db" "$work/copy.db" 2>/dev/null && fail "gallery copy over a file"
a=$("$biohub" search "$work/g.db" --modality finger --k 3 --json "$data/fingerprint/fvc2002/DB1_B/103_2.pgm" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["candidates"])') || fail "search original"
b=$("$biohub" search "$work/copy.db" --modality finger --k 3 --json "$data/fingerprint/fvc2002/DB1_B/103_2.pgm" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["candidates"])') || fail "search copy"
[ "$a" = "$b" ] || fail "the copy answers differently: $a / $b"
# galleries are owner-only; check warns about (but passes) one opened to others
[ "$(stat -c %a "$work/g.db")" = 600 ] || fail "new gallery mode $(stat -c %a "$work/g.db")"
[ "$(stat -c %a "$work/copy.db")" = 600 ] || fail "gallery copy mode $(stat -c %a "$work/copy.db")"
"$biohub" gallery check "$work/g.db" 2>"$work/err" >/dev/null || fail "gallery check"
# it validates every template; the image-enrolled fingers carry a field, the
# ones from minutiae records (EFS, ISO) do not
o=$("$biohub" gallery check --json "$work/g.db" 2>/dev/null) || fail "gallery check --json"
s=$("$biohub" gallery stats --json "$work/g.db") || fail "gallery stats"
python3 -c 'import json,sys; c=json.loads(sys.argv[1]); s=json.loads(sys.argv[2])["templates"]
sys.exit(0 if c["templates_checked"]==s["total"] and c["templates_invalid"]==0
         and c["finger_without_field"] < s["finger"] else 1)' "$o" "$s" \
  || fail "gallery check counts: $o / $s"
! grep -q warning "$work/err" || fail "gallery check warned about a 0600 gallery"
chmod 644 "$work/copy.db"
o=$("$biohub" gallery check --json "$work/copy.db" 2>"$work/err") || fail "gallery check of a 0644 gallery"
grep -q "mode 0644" "$work/err" || fail "no warning for a 0644 gallery"
echo "$o" | python3 -c 'import json,sys; j=json.load(sys.stdin); sys.exit(0 if j["ok"] and not j["owner_only"] else 1)' \
  || fail "gallery check --json on a 0644 gallery: $o"
echo "search: ok"
