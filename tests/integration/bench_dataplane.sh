#!/usr/bin/env bash
# bench_dataplane.sh BIOHUB - `biohub bench dataplane --json` runs end to end:
# biohubd and dpdk-testpmd on net_pcap, then both as the server of a memif
# pair fed by a testpmd generator.  Checks that every figure is a real
# measurement (answers came back, frames authenticated), not its speed: speed
# claims come from the bench itself (docs/PERFORMANCE.md).
set -uo pipefail
biohub="$1"
command -v dpdk-testpmd >/dev/null || { echo "FAIL: dpdk-testpmd missing (scripts/setup installs dpdk)"; exit 1; }
out="$("$biohub" bench dataplane --json --seconds 2)" || { echo "FAIL: bench dataplane"; exit 1; }
echo "$out"
python3 - "$out" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
m = r["memif"]
for name, v in [("pps", r["pps"]), ("testpmd_pps", r["testpmd_pps"]),
                ("memif.pps", m["pps"]), ("memif.testpmd_pps", m["testpmd_pps"])]:
    assert v > 1000, f"{name} = {v}: nothing measured"
for name, ratio, a, b in [("ratio_vs_testpmd", r["ratio_vs_testpmd"], r["pps"], r["testpmd_pps"]),
                          ("memif.ratio_vs_testpmd", m["ratio_vs_testpmd"], m["pps"], m["testpmd_pps"])]:
    assert abs(ratio - a / b) < 1e-3 * max(1, ratio), f"{name} {ratio} is not pps / testpmd_pps"
# biohubd answers each request it takes in: over memif the answers counted
# by the generator match the requests it got in (within one second's slack).
assert m["pps"] <= m["requests_pps"] * 1.05 + 1000, "more answers than requests"
print("bench dataplane: ok")
PY
