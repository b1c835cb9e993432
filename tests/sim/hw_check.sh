#!/usr/bin/env bash
# Quick RTL checks for CI (the full synthesis is hw/syn/synth.sh, minutes):
#  1. verilator --lint-only -Wall on hw/rtl: no warning at all;
#  2. yosys reads the same RTL as synthesis does, elaborates a small
#     configuration (2 lanes, KMAX 8), runs proc/flatten/opt and
#     `check -assert` (no latches, no multiple drivers, no undriven nets).
set -euo pipefail
rtl="$1"
files=("$rtl/bh_pkg.sv" "$rtl/bh_topk.sv" "$rtl/bh_lane.sv" "$rtl/bh_core.sv")
verilator --lint-only -Wall --top-module bh_core "${files[@]}"
echo "verilator lint: clean"
if ! command -v yosys >/dev/null; then
  echo "yosys not installed: synthesis check skipped"
  exit 77
fi
yosys -q -p "
read_verilog -DSYNTHESIS -sv ${files[*]}
hierarchy -check -top bh_core -chparam Lanes 2 -chparam KMAX 8
proc; flatten; opt -fast
check -assert
"
echo "yosys elaboration + check: clean"
