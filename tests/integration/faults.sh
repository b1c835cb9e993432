#!/usr/bin/env bash
# faults.sh BIOHUBD BIOHUB DP_CHECK - biohubd under faults (real finger
# gallery, net_af_packet between two network namespaces):
#   1. kill -9 during searches: the gallery passes PRAGMA integrity_check,
#      every search the client saw answered with a result or a search error
#      has its audit row (those answers leave only after the row is
#      committed; BH_EBUSY refusals do not wait), and biohubd restarted on the
#      same gallery serves again (an enrolled finger at rank 1);
#   2. keys are wiped at exit: the raw key bytes are found in the running
#      daemon (the scan works) and not after shutdown (biohubd stops itself
#      at the very end with BIOHUBD_STOP_AT_EXIT, memory still mapped); the
#      daemon cannot dump core (RLIMIT_CORE 0: a core would hold keys and
#      probes);
#   3. a corrupt gallery (header bytes overwritten, a foreign SQLite
#      database, a non-database file) and a key file with mode 0644 each make
#      biohubd refuse to start: non-zero exit, a clear message, quickly; a
#      gallery open to group or others (mode 0644) starts with a warning.
# Crash safety of enrolment (`biohub gallery enroll` killed with SIGKILL) is
# tests/integration/test_gallery_crash.c.  Skips (77) without root, network
# namespaces, shared data or the search service.
set -uo pipefail
hexrand() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }
biohubd="$1" biohub="$2" dp_check="$3"
src="$(cd "$(dirname "$0")/../.." && pwd)"
data="${BH_DATA:-$src/../shared/data}"
fvc="$data/fingerprint/fvc2002/DB1_B"
[ "$(id -u)" = 0 ] || { echo "skip: needs root for network namespaces"; exit 77; }
command -v ip >/dev/null || { echo "skip: no iproute2"; exit 77; }
[ -f "$fvc/101_1.pgm" ] || { echo "skip: no shared data"; exit 77; }
"$biohubd" --features | grep -q search || { echo "skip: biohubd without search"; exit 77; }
name="bhf$$"
name="${name:0:10}"
if ! ip netns add "${name}x" 2>/dev/null; then echo "skip: no netns support"; exit 77; fi
ip netns del "${name}x"

work="$(mktemp -d /tmp/bh-faults.XXXXXX)"
dpid=""
cleanup() {
  [ -n "$dpid" ] && kill -CONT "$dpid" 2>/dev/null && kill -KILL "$dpid" 2>/dev/null
  [ -n "$dpid" ] && wait "$dpid" 2>/dev/null
  bash "$src/scripts/netns-down" "$name"
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$work/d.log" ] && tail -n 20 "$work/d.log"; exit 1; }

"$biohub" gallery create "$work/g.db" >/dev/null || fail "gallery create"
for f in $(seq 101 106); do echo "fvc-$f image:finger:1=$fvc/${f}_1.pgm"; done >"$work/list"
"$biohub" gallery enroll "$work/g.db" --bulk "$work/list" --quiet --operator test >/dev/null \
  || fail "enrol"
bash "$src/scripts/netns-up" "$name" 10.77.12 || fail "netns-up"
umask 077
key7=$(hexrand 32)
printf '7 %s border\n' "$key7" >"$work/keys"
conf() { # gallery keys -> config file path
  local c="$work/d.$RANDOM.conf"
  printf 'port = net_af_packet0,iface=%s\nip = 10.77.12.1\nkeys = %s\ngallery = %s\nname = faults\n' \
    "${name}d0,framecnt=4096" "$2" "$1" >"$c"
  echo "$c"
}
srv=10.77.12.1:7700
inc() { ip netns exec "${name}c" "$@"; }
start() { # config [env...]
  env "${@:2}" ip netns exec "${name}d" "$biohubd" --config "$1" >"$work/d.log" 2>&1 &
  dpid=$!
  for _ in $(seq 1 100); do
    kill -0 "$dpid" 2>/dev/null || fail "biohubd exited"
    inc "$biohub" probe --agency 7 --key "$work/keys" --server $srv --health --timeout 200 \
      >/dev/null 2>&1 && return 0
  done
  fail "biohubd never answered health"
}
audit_has() { # log file: every answered request id has an audit row
  python3 - "$work/g.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
ok = db.execute("pragma integrity_check").fetchone()[0]
print("integrity_check:", ok)
if ok != "ok":
    sys.exit(1)
# "request_id type code": results and search errors must have their row;
# busy refusals (code -14) are answered before their row is committed.
lines = [l.split() for l in open(sys.argv[2]) if l.strip()]
reqs = [int(r) for r, t, c in lines if c != "-14"]
have = {r[0] for r in db.execute("select request_id from audit where agency='border'")}
missing = [r for r in reqs if r not in have]
print(f"{len(lines)} answers, {len(reqs)} searches that ran, {len(missing)} without an audit row")
sys.exit(1 if missing or not reqs else 0)
PY
}

# ---- 1. kill -9 during searches, restart, serve again
start "$(conf "$work/g.db" "$work/keys")"
: >"$work/answers"
# The client kills biohubd itself the moment its 12th answer arrives, so the
# kill lands right after an answer left (and while others are in flight).
inc "$dp_check" answers $srv "$work/keys" 7 finger 12 2 "$work/answers" "$dpid" \
  "$fvc"/10[1-6]_[2-5].pgm >"$work/client.log" 2>&1
wait "$dpid" 2>/dev/null
rc=$?
dpid=""
grep -v "error frame" "$work/client.log"
[ $rc = 137 ] || fail "biohubd was not killed by SIGKILL (exit $rc)"
echo "killed biohubd after $(wc -l <"$work/answers") answers"
audit_has "$work/answers" || fail "gallery damaged or audit rows lost by kill -9"
start "$(conf "$work/g.db" "$work/keys")"
out=$(inc "$biohub" probe --agency 7 --key "$work/keys" --server $srv --modality finger --k 3 \
  --json --timeout 30000 "$fvc/101_1.pgm") || fail "search after restart: $out"
echo "$out"
echo "$out" | python3 -c 'import json,sys; c=json.load(sys.stdin)["candidates"];
sys.exit(0 if c and c[0]["external_ref"]=="fvc-101" and c[0]["match"] else 1)' \
  || fail "after restart fvc-101 is not at rank 1"
kill -TERM "$dpid"; wait "$dpid"; rc=$?; dpid=""
[ $rc = 0 ] || fail "biohubd exit code $rc after restart"
[ "$(stat -c %a "$work/g.db")" = 600 ] || fail "gallery mode $(stat -c %a "$work/g.db"), not 600"
! grep -q "warning: gallery" "$work/d.log" || fail "biohubd warned about an owner-only gallery"

# ---- 2. keys wiped at exit
start "$(conf "$work/g.db" "$work/keys")" BIOHUBD_STOP_AT_EXIT=1
inc "$biohub" probe --agency 7 --key "$work/keys" --server $srv --modality finger \
  --timeout 30000 "$fvc/102_2.pgm" >/dev/null || fail "search before the key scan"
grep -E '^Max core file size +0 +0 ' "/proc/$dpid/limits" || fail "biohubd may dump core (keys, probes)"
"$dp_check" scan "$dpid" "$key7" hex >"$work/scan.live" || fail "live key not found: scanner broken"
tail -n 1 "$work/scan.live"
kill -TERM "$dpid"
for _ in $(seq 1 100); do # stopped (T) at the end of main
  [ "$(awk '{print $3}' "/proc/$dpid/stat" 2>/dev/null)" = T ] && break
  sleep 0.1
done
[ "$(awk '{print $3}' "/proc/$dpid/stat")" = T ] || fail "biohubd did not stop at exit"
"$dp_check" scan "$dpid" "$key7" hex >"$work/scan.exit"
rc=$?
cat "$work/scan.exit"
[ $rc = 3 ] || fail "agency key still in biohubd memory after shutdown (scan rc $rc)"
kill -CONT "$dpid"; wait "$dpid"; rc=$?; dpid=""
[ $rc = 0 ] || fail "biohubd exit code $rc after the key scan"

# ---- 3. refusals at start
refuse() { # label config expected-message-regex
  local t0=$SECONDS
  timeout 20 ip netns exec "${name}d" "$biohubd" --config "$2" >"$work/r.log" 2>&1
  local rc=$?
  echo "$1: exit $rc after $((SECONDS - t0)) s: $(grep -m1 "^biohubd:" "$work/r.log")"
  [ $rc != 0 ] && [ $rc != 124 ] || fail "$1: biohubd did not refuse to start (exit $rc)"
  grep -Eqi "$3" "$work/r.log" || fail "$1: no clear message"
}
cp "$work/g.db" "$work/hdr.db"
printf 'this is not SQLite' | dd of="$work/hdr.db" bs=1 seek=0 conv=notrunc status=none
refuse "header overwritten" "$(conf "$work/hdr.db" "$work/keys")" "not a biohub gallery|corrupt|database"
cp "$work/g.db" "$work/page.db" # the b-tree header of page 2 overwritten
psize=$(od -An -tu1 -j16 -N2 "$work/g.db" | awk '{print $1 * 256 + $2}') # file header: page size
echo "page size $psize"
head -c 16 /dev/zero | tr '\0' '\377' | dd of="$work/page.db" bs=1 seek="$psize" conv=notrunc status=none
refuse "page overwritten" "$(conf "$work/page.db" "$work/keys")" "corrupt|malformed|quick_check"
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("create table t(x)"); c.commit()' \
  "$work/foreign.db"
refuse "foreign database" "$(conf "$work/foreign.db" "$work/keys")" "not a biohub gallery"
head -c 65536 /dev/urandom >"$work/random.db"
refuse "random bytes" "$(conf "$work/random.db" "$work/keys")" "not a biohub gallery|corrupt|database"
cp "$work/keys" "$work/keys644"
chmod 0644 "$work/keys644"
refuse "key file 0644" "$(conf "$work/g.db" "$work/keys644")" "mode 0600"
# a gallery open to others (made before 2026-12-07) still serves, with a warning
cp "$work/g.db" "$work/g644.db"
chmod 0644 "$work/g644.db"
start "$(conf "$work/g644.db" "$work/keys")"
kill -TERM "$dpid"; wait "$dpid"; rc=$?; dpid=""
[ $rc = 0 ] || fail "biohubd exit code $rc on a 0644 gallery"
grep -q "warning: gallery .*g644.db is open to group or others (mode 0644)" "$work/d.log" \
  || fail "no warning for a 0644 gallery: $(head -c 400 "$work/d.log")"
echo "faults: ok"
