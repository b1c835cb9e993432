#!/bin/sh
# Live oracle check: runs face-api.js (tests/face-oracle/oracle.js, pure JS CPU
# backend) on the six LFW images of reference.txt now, then compares our C
# networks with what it wrote.  Exit 77 (skip) when node, the npm packages
# (scripts/setup installs them into build-deps/face-oracle) or the images
# are missing.
# usage: run.sh SOURCE_ROOT TEST_FACE_ORACLE_BINARY
set -eu
root="$1"; bin="$2"
mods="$root/build-deps/face-oracle/node_modules"
lfw="$root/../shared/data/face/lfw_dev"
command -v node >/dev/null 2>&1 || exit 77
[ -d "$mods/face-api.js" ] || exit 77
imgs=""
for f in $(sed -n 's/^image \([^ ]*\) .*/\1/p' "$root/tests/face-oracle/reference.txt"); do
  p="$lfw/${f%_*}/$f"
  [ -f "$p" ] || exit 77
  imgs="$imgs $p"
done
out="$(mktemp /tmp/bh_face_oracle.XXXXXX)"
trap 'rm -f "$out"' EXIT
NODE_PATH="$mods" node "$root/tests/face-oracle/oracle.js" "$root/models/face" "$out" $imgs \
  2>/dev/null
"$bin" "$out"
