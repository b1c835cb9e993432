#!/usr/bin/env bash
# dataplane.sh BIOHUBD BIOHUB DP_CHECK [GALLERY] - end to end through biohubd
# on net_af_packet over a veth pair between two network namespaces created
# here (scripts/netns-up), no hugepages:
#   health and stats answered; a wrong key gets nothing and is counted;
#   every kind of bad input is a counted drop or an error frame
#   (dp_check badinput); the daemon's writable memory holds a live control
#   marker (scan finds it) but not the marker of a probe it processed
#   (scan finds none) - after a finger, a palm and a face search, a
#   truncated JPEG, a face probe without a face and a burst refused with
#   BH_EBUSY; when biohubd has the search service, a small real gallery is
#   built (scripts/demo-gallery) and real images are searched with
#   `biohub probe`: an enrolled image finds its own subject at rank 1 (also
#   a 1000-ppi copy made by BH_UPSAMPLE, when set, with the resolution byte,
#   TIFF and BMP copies made by BH_REENCODE, when set, at the PGM's score,
#   and a photo sent as the Type-10 mugshot of an ANSI/NIST transaction);
#   agency isolation (dp_check isolation: spoofed agency id, fragments
#   from two peers, reordered fragments, answers only to the asker); and
#   the audit table holds exactly one row per answered search.
# BH_BACKEND=NAME runs biohubd with that engine backend (hardware in the
# loop: fpga = the Verilator-simulated core): every answer must name it and
# the daemon must not have fallen back to software for any search.
# Exit 77 (skip) only when not root or network namespaces are unavailable.
set -uo pipefail
hexrand() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; } # N random bytes as hex
biohubd="$1" biohub="$2" dp_check="$3" gallery="${4:-}"
backend="${BH_BACKEND:-}"
src="$(cd "$(dirname "$0")/../.." && pwd)"
[ "$(id -u)" = 0 ] || { echo "skip: needs root for network namespaces"; exit 77; }
command -v ip >/dev/null || { echo "skip: no iproute2"; exit 77; }
name="bhi$$"
name="${name:0:10}"
if ! ip netns add "${name}x" 2>/dev/null; then echo "skip: no netns support"; exit 77; fi
ip netns del "${name}x"

work="$(mktemp -d /tmp/bh-dp-test.XXXXXX)"
dpid=""
cleanup() {
  [ -n "$dpid" ] && kill -TERM "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
  bash "$src/scripts/netns-down" "$name"
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$work/d.log" ] && tail -n 20 "$work/d.log"; exit 1; }

bash "$src/scripts/netns-up" "$name" 10.77.9 || fail "netns-up"
# A small real gallery when this build can search (search service and at
# least one extractor); otherwise the search path is checked for its error
# frame only.
if [ -z "$gallery" ] && "$biohubd" --features | grep -q search; then
  bash "$src/scripts/demo-gallery" "$biohub" "$work/g.db" 3 | tee "$work/enrolled"
  grep -q "enrolled [a-z]* [1-9]" "$work/enrolled" && gallery="$work/g.db"
fi
umask 077
printf '7 %s border\n9 %s customs\n' "$(hexrand 32)" "$(hexrand 32)" > "$work/keys"
printf '9 %s customs\n' "$(hexrand 32)" > "$work/wrong"
control="CONTROL$(hexrand 12)"
cat > "$work/d.conf" <<CONF
port = net_af_packet0,iface=${name}d0,framecnt=4096
ip = 10.77.9.1
keys = $work/keys
name = $control
max_msg = 1048576
reasm_timeout_ms = 1500
${gallery:+gallery = $gallery}
${backend:+backend = $backend}
CONF
ip netns exec "${name}d" "$biohubd" --config "$work/d.conf" >"$work/d.log" 2>&1 &
dpid=$!
srv=10.77.9.1:7700
inc() { ip netns exec "${name}c" "$@"; }
up=0
for _ in $(seq 1 100); do
  kill -0 "$dpid" 2>/dev/null || fail "biohubd exited"
  if inc "$biohub" probe --agency 7 --key "$work/keys" --server $srv --health --timeout 200 \
      >/dev/null 2>&1; then up=1; break; fi
done
[ $up = 1 ] || fail "biohubd never answered health"
inc "$biohub" probe --agency 7 --key "$work/keys" --server $srv --health || fail "health"
inc "$biohub" probe --agency 9 --key "$work/wrong" --server $srv --health --timeout 500 \
  && fail "a wrong key got an answer"
stat_of() { # agency counter
  inc "$biohub" stats --agency "$1" --key "$work/keys" --server $srv --json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"; }
tags=$(stat_of 9 drop_tag) || fail "stats"
[ "$tags" -ge 1 ] || fail "wrong key not counted as drop_tag ($tags)"

inc "$dp_check" badinput $srv "$work/keys" 7 || fail "bad input"

# Probe wipe: the control marker is live in the daemon (its config name),
# the probe marker must be gone once the search has been answered - on every
# path: each modality, an undecodable image, no face, a busy refusal, a
# partial message dropped by the reassembly timeout.
"$dp_check" scan "$dpid" "$control" >"$work/scan0" || fail "control marker not found: scanner broken"
grep -q "hits" "$work/scan0" && tail -n 1 "$work/scan0"
data="$src/../shared/data"
searches=0 # answered searches that reached the search service (audited)
scan_clean() { # label marker
  sleep 0.2
  "$dp_check" scan "$dpid" "$2" >"$work/scan.$1"
  local rc=$?
  echo "$1: $(tail -n 1 "$work/scan.$1")"
  [ $rc = 3 ] || { cat "$work/scan.$1"; fail "$1: probe marker still in biohubd memory (scan rc $rc)"; }
  # ... nor on disk where the daemon writes (gallery, WAL, its log).
  ! grep -rlaF "$2" "$work" || fail "$1: probe marker written to disk"
}
mprobe() { # label modality kind image expect
  local marker="PROBE$(hexrand 14)"
  inc "$dp_check" marker-probe $srv "$work/keys" 7 "$2" "$3" "$4" "$marker" "$5" \
    || fail "$1 marker probe"
  [ -n "$gallery" ] && searches=$((searches + 1))
  scan_clean "$1" "$marker"
}
img="${BH_TEST_FINGER:-$data/fingerprint/fvc2002/DB1_B/101_1.pgm}"
if [ ! -f "$img" ]; then
  # No shared data: a synthetic 64x64 PGM carries the marker just as well.
  python3 -c 'import sys; sys.stdout.buffer.write(b"P5\n64 64\n255\n" + bytes((i*7)&255 for i in range(4096)))' > "$work/synth.pgm"
  img="$work/synth.pgm"
fi
enrolled() { [ -n "$gallery" ] && grep -q "enrolled $1 [1-9]" "$work/enrolled"; }
expect=error; enrolled finger && expect=result
mprobe finger finger pgm "$img" $expect
if enrolled palm; then
  mprobe palm palm pgm "$data/palm/polyu/Multispectral_G/002/1_01_s.pgm" result
fi
if enrolled face; then
  who=$(ls "$data/face/lfw_dev" | grep -v '\.txt$' | head -n 1)
  face_img="$data/face/lfw_dev/$who/${who}_0001.jpg"
  mprobe face face jpeg "$face_img" result
  mprobe bad-jpeg face jpeg-trunc "$face_img" error
  mprobe no-face face noise - error:-10 # BH_ENOFACE
fi
if enrolled finger; then
  marker="PROBE$(hexrand 14)"
  inc "$dp_check" marker-burst $srv "$work/keys" 7 finger "$img" "$marker" 12 \
    || fail "busy marker burst"
  searches=$((searches + 12))
  scan_clean busy "$marker"
  inc "$dp_check" isolation $srv "$work/keys" 7 9 finger "$img" || fail "isolation"
  searches=$((searches + 2)) # the in-order and the reordered search
fi
# Reassembly timeout: a search missing its last fragment is held (the scan
# sees its marker) until reasm_timeout_ms (1500; the held scan takes 0.3-1 s) drops it, wiped.
t0=$(stat_of 7 drop_timeout) || fail "stats"
marker="PROBE$(hexrand 14)"
inc "$dp_check" marker-partial $srv "$work/keys" 7 finger "$img" "$marker" || fail "partial probe"
sleep 0.1
"$dp_check" scan "$dpid" "$marker" >"$work/scan.partial-held" ||
  { cat "$work/scan.partial-held"; fail "partial probe not seen in reassembly: the check below would prove nothing"; }
echo "partial-held: $(tail -n 1 "$work/scan.partial-held")"
sleep 2
t1=$(stat_of 7 drop_timeout) || fail "stats"
[ "$t1" -gt "$t0" ] || fail "partial probe not dropped by the reassembly timeout ($t0 -> $t1)"
scan_clean reasm-timeout "$marker"

# Searches with real images: an enrolled image must come back as its own
# subject at rank 1 with match set; other impressions are printed.
search_check() { # modality image expected-ref [probe options]
  local out
  out=$(inc "$biohub" probe --agency 7 --key "$work/keys" --server $srv --modality "$1" \
    --k 5 --json --timeout 60000 "${@:4}" "$2") || fail "$1 search of $2: $out"
  searches=$((searches + 1))
  echo "$out"
  last="$out"
  if [ -n "$backend" ]; then
    echo "$out" | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)["backend"]!=sys.argv[1])' \
      "$backend" || fail "$1 search not answered by backend $backend"
  fi
  [ -z "$3" ] && return 0
  echo "$out" | python3 -c 'import json,sys; r=json.load(sys.stdin); c=r["candidates"];
sys.exit(0 if c and c[0]["external_ref"]==sys.argv[1] and c[0]["match"] else 1)' "$3" \
    || fail "$1: $2 did not find $3 at rank 1"
}
if [ -n "$gallery" ]; then
  if grep -q "enrolled finger [1-9]" "$work/enrolled"; then
    search_check finger "$data/fingerprint/fvc2002/DB1_B/101_1.pgm" fvc-101
    search_check finger "$data/fingerprint/fvc2002/DB1_B/102_2.pgm" ""
    # the position byte: demo fingers are enrolled as position 1, so the
    # same image found at position 1 finds no finger at position 5, and a
    # position past 10 is an error (refused before the search service, like
    # an unknown modality: not audited)
    search_check finger "$data/fingerprint/fvc2002/DB1_B/101_1.pgm" fvc-101 --position 1
    search_check finger "$data/fingerprint/fvc2002/DB1_B/101_1.pgm" "" --position 5
    echo "$last" | python3 -c 'import json,sys; sys.exit(len(json.load(sys.stdin)["candidates"]) != 0)' \
      || fail "a position-5 finger search found candidates among position-1 fingers"
    out=$(inc "$biohub" probe --agency 7 --key "$work/keys" --server $srv --modality finger \
      --position 11 --json "$data/fingerprint/fvc2002/DB1_B/101_1.pgm" 2>&1) \
      && fail "position 11 was searched: $out"
    echo "$out"
    echo "$out" | grep -q "position must be" || fail "no error for position 11"
    # the resolution byte: another impression of fvc-101 scaled up 2x
    # (tests/tools/upsample.c) is found with --ppi 1000 and not without it,
    # where it is taken as 500 ppi; 100 ppi is refused before the search
    if [ -x "${BH_UPSAMPLE:-}" ]; then
      "$BH_UPSAMPLE" "$data/fingerprint/fvc2002/DB1_B/101_2.pgm" "$work/101_2_x2.pgm" 2 \
        || fail "upsample"
      search_check finger "$work/101_2_x2.pgm" fvc-101 --ppi 1000
      search_check finger "$work/101_2_x2.pgm" ""
      echo "$last" | python3 -c 'import json,sys; sys.exit(any(c["match"] for c in json.load(sys.stdin)["candidates"]))' \
        || fail "the 1000-ppi image matched when sent as 500 ppi"
      out=$(inc "$biohub" probe --agency 7 --key "$work/keys" --server $srv --modality finger \
        --ppi 100 --json "$work/101_2_x2.pgm" 2>&1) && fail "100 ppi was searched: $out"
      echo "$out"
      echo "$out" | grep -q "resolution must be" || fail "no error for 100 ppi"
    fi
    # the containers FVC databases ship in: 101_1 as an LZW TIFF and as an
    # 8-bit BMP (tests/tools/reencode.c) finds fvc-101 at the PGM's score
    if [ -x "${BH_REENCODE:-}" ]; then
      search_check finger "$data/fingerprint/fvc2002/DB1_B/101_1.pgm" fvc-101
      pgm_score=$(echo "$last" | python3 -c 'import json,sys; print(json.load(sys.stdin)["candidates"][0]["score"])')
      for kind in tiff-lzw:tif bmp8:bmp; do
        "$BH_REENCODE" "$data/fingerprint/fvc2002/DB1_B/101_1.pgm" "$work/101_1.${kind#*:}" "${kind%:*}" \
          || fail "reencode ${kind%:*}"
        search_check finger "$work/101_1.${kind#*:}" fvc-101
        echo "$last" | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)["candidates"][0]["score"] != int(sys.argv[1]))' \
          "$pgm_score" || fail "the ${kind%:*} probe did not score as the PGM ($pgm_score)"
      done
    fi
    # an ANSI/NIST card (267 KB, two four-finger slaps and two thumbs) over
    # BHP/1 is searched with its ten fingertips
    card="$data/fingerprint/nist/type4-slaps.an2k"
    if [ -f "$card" ]; then
      search_check finger "$card" ""
      echo "$last" | python3 -c 'import json,sys; sys.exit(not json.load(sys.stdin)["warning"].startswith("10 fingers"))' \
        || fail "the card was not searched with ten fingers"
    fi
    # an ISO 19794-2 minutiae record over BHP/1: searched with its two fingers
    fmr="$data/fingerprint/nist/fmr.iso2005"
    if [ -f "$fmr" ]; then
      search_check finger "$fmr" ""
      echo "$last" | python3 -c 'import json,sys; sys.exit(not json.load(sys.stdin)["warning"].startswith("2 fingers"))' \
        || fail "the ISO record was not searched with its two fingers"
    fi
  fi
  if grep -q "enrolled palm [1-9]" "$work/enrolled"; then
    search_check palm "$data/palm/polyu/Multispectral_G/002/1_01_s.pgm" polyu-002
  fi
  if grep -q "enrolled face [1-9]" "$work/enrolled"; then
    who=$(ls "$data/face/lfw_dev" | grep -v '\.txt$' | head -n 1)
    search_check face "$data/face/lfw_dev/$who/${who}_0001.jpg" "lfw-$who"
    # the same photo as the Type-10 mugshot of a booking transaction (with a
    # finger record, 160 KB: many fragments) sent as a face probe
    python3 "$src/scripts/an2k-write" "$work/book.an2k" \
      "2:500:$data/fingerprint/fvc2002/DB1_B/107_1.pgm" "face:$data/face/lfw_dev/$who/${who}_0001.jpg"
    search_check face "$work/book.an2k" "lfw-$who"
  fi
  # One audit row per answered search (results, errors, busy refusals), all
  # from agency "border", without biometric bytes.
  rows=$(python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]);
print(c.execute("select count(*) from audit where agency=?",("border",)).fetchone()[0])' "$gallery")
  echo "audit rows: $rows for $searches searches"
  [ "$rows" = "$searches" ] || fail "audit has $rows rows for $searches searches"
fi

inc "$biohub" stats --agency 7 --key "$work/keys" --server $srv | head -n 40
kill -TERM "$dpid"
wait "$dpid"
rc=$?
dpid=""
[ $rc = 0 ] || fail "biohubd exit code $rc"
if grep -q "failed a search" "$work/d.log"; then
  fail "the engine fell back to software: $(grep -m1 'failed a search' "$work/d.log")"
fi
echo "dataplane: ok"
