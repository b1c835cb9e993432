#!/usr/bin/env bash
# Synthesises bh_core with yosys and prints the resource report.
#   hw/syn/synth.sh [LANES] [KMAX] [TARGET] [TOP]
# TARGET: xcup (Xilinx UltraScale+, synth_xilinx; default) or generic (synth).
# TOP: bh_core (default) or bh_lane (one scoring lane with its top-K; LANES
# is ignored) - the full core is about core(LANES=1) + (LANES-1) x lane.
# The full configuration (32 lanes, KMAX 32) takes minutes; tests run a
# small one (tests/sim/hw_check.sh).  Output: yosys `stat` of the top module
# (LUT/FF/BRAM/DSP cell counts: LUTn, FD*, RAMB*, DSP48E2).  Measured runs
# and the resulting 32-lane figures are in docs/HARDWARE.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
rtl="$here/../rtl"
lanes="${1:-32}"
kmax="${2:-32}"
target="${3:-xcup}"
top="${4:-bh_core}"
params="-chparam KMAX $kmax"
[ "$top" = bh_core ] && params="$params -chparam Lanes $lanes"
case "$target" in
  xcup) synth="synth_xilinx -family xcup -top $top -flatten" ;;
  generic) synth="synth -top $top -flatten" ;;
  *) echo "unknown target $target" >&2; exit 2 ;;
esac
exec yosys -q -p "
read_verilog -DSYNTHESIS -sv $rtl/bh_pkg.sv $rtl/bh_topk.sv $rtl/bh_lane.sv $rtl/bh_core.sv
hierarchy -top $top $params
$synth
tee -o /dev/stdout stat
"
