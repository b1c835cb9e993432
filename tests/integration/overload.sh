#!/usr/bin/env bash
# overload.sh BIOHUBD BIOHUB DP_CHECK - biohubd under 10x its peak rate.
# A finger-only gallery of real FVC2002 impressions, biohubd (one worker) on
# net_af_packet between two network namespaces, then `biohub probe --load`:
#   unloaded:   BH_UNLOADED_N searches at BH_UNLOADED_RATE/s (default 50 at 10/s)
#   overloaded: BH_LOAD_N at BH_LOAD_RATE/s (default 1050 at 350/s: 10x the
#               35/s peak of the design), open loop (--window 4000)
# in up to BH_ROUNDS (5) rounds, and asserts:
#   - some answers are BH_EBUSY (the daemon refuses what it cannot serve),
#     every request is answered (lost = 0), the daemon's own counters agree
#     (searches, search_busy);
#   - the p99 latency of ADMITTED searches under overload <= BH_P99_FACTOR
#     (default 2) x the unloaded p99 + BH_SLACK_MS (default 20 ms, for a noisy
#     shared CI machine), in at least one round (all other checks in every
#     round);
#   - biohubd's peak RSS (VmHWM) grows by less than BH_RSS_GROWTH_MB
#     (default 16) from the unloaded run to the end of the overload run;
#   - one audit row per answered search, busy refusals included;
#   - fairness: while agency 7 floods at BH_LOAD_RATE, agency 8 sending 20
#     searches at 5/s, one at a time, gets at least BH_FAIR_MIN_PCT (80) % of
#     them admitted, and biohubd counts refusals of agency 7 for its fair
#     share (search_busy_fair).  BH_FAIR_WINDOW_MS sets the daemon's
#     fair_window_ms (default 1000; 0 turns fairness off, and then agency 8
#     is refused most of the time: the check is known to fail without it).
# The client runs pinned to the CPU of biohubd's rx lcore (lcore 0 = CPU 0)
# so that on a small machine it does not take the search worker's CPU: it
# stands for agencies on other machines.  Skips (77) without root, network
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
name="bho$$"
name="${name:0:10}"
if ! ip netns add "${name}x" 2>/dev/null; then echo "skip: no netns support"; exit 77; fi
ip netns del "${name}x"

work="$(mktemp -d /tmp/bh-overload.XXXXXX)"
dpid=""
cleanup() {
  [ -n "$dpid" ] && kill -TERM "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
  bash "$src/scripts/netns-down" "$name"
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$work/d.log" ] && tail -n 20 "$work/d.log"; exit 1; }

# Finger-only gallery: impression 1 of fingers 101..110.
"$biohub" gallery create "$work/g.db" >/dev/null || fail "gallery create"
for f in $(seq 101 110); do echo "fvc-$f image:finger:1=$fvc/${f}_1.pgm"; done >"$work/list"
"$biohub" gallery enroll "$work/g.db" --bulk "$work/list" --quiet --operator test >/dev/null \
  || fail "enrol"
bash "$src/scripts/netns-up" "$name" 10.77.11 || fail "netns-up"
umask 077
printf '7 %s border\n8 %s customs\n' "$(hexrand 32)" "$(hexrand 32)" >"$work/keys"
cat >"$work/d.conf" <<CONF
port = net_af_packet0,iface=${name}d0,framecnt=4096
ip = 10.77.11.1
keys = $work/keys
gallery = $work/g.db
workers = 1
fair_window_ms = ${BH_FAIR_WINDOW_MS:-1000}
name = overload-test
CONF
ip netns exec "${name}d" "$biohubd" --config "$work/d.conf" >"$work/d.log" 2>&1 &
dpid=$!
srv=10.77.11.1:7700
inc() { ip netns exec "${name}c" taskset -c 0 "$@"; }
PA() { inc "$biohub" "$2" --agency "$1" --key "$work/keys" --server $srv "${@:3}"; }
P() { PA 7 "$@"; }
up=0
for _ in $(seq 1 100); do
  kill -0 "$dpid" 2>/dev/null || fail "biohubd exited"
  if P probe --health --timeout 200 >/dev/null 2>&1; then up=1; break; fi
done
[ $up = 1 ] || fail "biohubd never answered health"
probes=("$fvc"/1[01][0-9]_[2-4].pgm)
hwm() { awk '/VmHWM/ {print $2}' "/proc/$dpid/status"; } # kB
stat_of() { P stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# Warm-up: the service-time estimate starts as a guess.
P probe --modality finger --load 4 --window 1 --json "${probes[@]:0:4}" >/dev/null || fail "warm-up"
slack=$(( ${BH_SLACK_MS:-20} * 1000 ))
# One unloaded run and one overload run, back to back.  Every invariant must
# hold in every round; the latency bound in at least one of BH_ROUNDS (5)
# rounds, because on a shared machine another job can stall either run: on
# our 2-CPU VM the host stops a vCPU for 100 ms when the guest keeps both
# busy (docs/PERFORMANCE.md "Overload").  biohubd used to provoke that itself
# (a fixed 50 us idle sleep, a third of the rounds over); since d028573 it
# measured 0 of 20 rounds over.
round() { # n -> 0 when the latency bound held
  P probe --modality finger --load "${BH_UNLOADED_N:-50}" --rate "${BH_UNLOADED_RATE:-10}" \
    --window 4 --json --timeout 20000 "${probes[@]}" >"$work/unloaded.json" || fail "unloaded load"
  local rss0 searches0 busy0
  rss0=$(hwm) searches0=$(stat_of searches) busy0=$(stat_of search_busy)
  P probe --modality finger --load "${BH_LOAD_N:-1050}" --rate "${BH_LOAD_RATE:-350}" \
    --window 4000 --json --timeout 20000 "${probes[@]}" >"$work/loaded.json" || fail "overload"
  local rss1 searches1 busy1
  rss1=$(hwm) searches1=$(stat_of searches) busy1=$(stat_of search_busy)
  local u50 u99 sent adm busy lost l50 l99 limit growth
  u50=$(field "$work/unloaded.json" p50_us) u99=$(field "$work/unloaded.json" p99_us)
  sent=$(field "$work/loaded.json" sent) adm=$(field "$work/loaded.json" admitted)
  busy=$(field "$work/loaded.json" busy) lost=$(field "$work/loaded.json" lost)
  l50=$(field "$work/loaded.json" p50_us) l99=$(field "$work/loaded.json" p99_us)
  limit=$(( ${BH_P99_FACTOR:-2} * u99 + slack ))
  growth=$(( (rss1 - rss0) / 1024 ))
  echo "round $1: unloaded p50 $((u50 / 1000)) p99 $((u99 / 1000)) ms; overload" \
    "$(field "$work/loaded.json" offered_per_s)/s: $sent sent, $adm admitted, $busy busy," \
    "$lost lost, admitted p50 $((l50 / 1000)) p99 $((l99 / 1000)) ms (limit" \
    "$((limit / 1000)) ms), busy p50 $(( $(field "$work/loaded.json" busy_p50_us) / 1000 )) ms;" \
    "VmHWM $((rss0 / 1024)) -> $((rss1 / 1024)) MiB"
  [ "$lost" = 0 ] || fail "$lost requests unanswered"
  [ "$busy" -gt 0 ] || fail "no busy answer at 10x the peak rate"
  [ "$adm" -gt 0 ] || fail "nothing admitted"
  [ $((adm + busy)) = "$sent" ] || fail "answers $((adm + busy)) != sent $sent"
  [ $((searches1 - searches0)) = "$sent" ] || fail "daemon counted $((searches1 - searches0)) searches, $sent sent"
  [ $((busy1 - busy0)) = "$busy" ] || fail "daemon counted $((busy1 - busy0)) busy, client $busy"
  [ "$growth" -lt "${BH_RSS_GROWTH_MB:-16}" ] || fail "VmHWM grew by $growth MiB under overload"
  [ "$l99" -le "$limit" ]
}
ok=0
for r in $(seq 1 "${BH_ROUNDS:-5}"); do
  if round "$r"; then ok=1; break; fi
  echo "round $r: admitted p99 over ${BH_P99_FACTOR:-2} x unloaded p99 + slack"
done

# Fairness between agencies: agency 7 floods (open loop) for about 6 s while
# agency 8 sends 20 searches at 5/s, one outstanding, from 0.5 s on.
rate=${BH_LOAD_RATE:-350}
fair0=$(stat_of search_busy_fair)
P probe --modality finger --load $((rate * 6)) --rate "$rate" --window 4000 --json \
  --timeout 20000 "${probes[@]}" >"$work/flood.json" &
fpid=$!
sleep 0.5
PA 8 probe --modality finger --load 20 --rate 5 --window 1 --json --timeout 20000 \
  "${probes[@]}" >"$work/fair.json" || fail "agency 8 load"
wait $fpid || fail "agency 7 flood"
fair1=$(stat_of search_busy_fair)
f_adm=$(field "$work/fair.json" admitted) f_sent=$(field "$work/fair.json" sent)
echo "fairness: agency 7 flood $(field "$work/flood.json" sent) sent," \
  "$(field "$work/flood.json" admitted) admitted, $(field "$work/flood.json" busy) busy" \
  "($((fair1 - fair0)) for its fair share); agency 8 at 5/s: $f_sent sent, $f_adm admitted," \
  "p50 $(( $(field "$work/fair.json" p50_us) / 1000 )) p99" \
  "$(( $(field "$work/fair.json" p99_us) / 1000 )) ms"
[ "$(field "$work/fair.json" lost)" = 0 ] || fail "agency 8 requests unanswered"
[ $((f_adm * 100)) -ge $((f_sent * ${BH_FAIR_MIN_PCT:-80})) ] ||
  fail "agency 8 got $f_adm of $f_sent searches admitted while agency 7 flooded"
[ $((fair1 - fair0)) -gt 0 ] || fail "no refusal of agency 7 for its fair share"

P stats | grep -E '^(search|svc_est|wait_est|audit|idle|drop_(busy|timeout|overlap)|reasm)' | grep -v ' 0$'
# The rx lcore's idle sleep adapts (dataplane/dp_idle.h): through all of the
# above it woke about 1000 times a second or less, where a fixed 50 us sleep
# woke 6000-8000 times (and on a VM made the host stop a vCPU for 100 ms).
sleeps=$(stat_of idle_sleeps) up=$(stat_of uptime_s)
echo "rx lcore: $sleeps idle sleeps in $up s"
[ "$sleeps" -le $(( (up + 1) * ${BH_MAX_SLEEPS_PER_S:-2500} )) ] ||
  fail "rx lcore slept $sleeps times in $up s: its idle sleep does not adapt"
[ $ok = 1 ] || fail "admitted p99 > ${BH_P99_FACTOR:-2} x unloaded p99 + slack in all ${BH_ROUNDS:-5} rounds"
searches1=$(stat_of searches)

# Every answer left only after its audit row was committed.
kill -TERM "$dpid"; wait "$dpid"; rc=$?; dpid=""
[ $rc = 0 ] || fail "biohubd exit code $rc"
rows=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(
  "select count(*) from audit").fetchone()[0])' "$work/g.db")
expect=$(( searches1 ))
echo "audit rows: $rows for $expect searches"
[ "$rows" = "$expect" ] || fail "audit has $rows rows for $expect answered searches"
echo "overload: ok"
