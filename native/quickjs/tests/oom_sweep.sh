#!/bin/sh
# Out-of-memory sweep of QuickJS's parser and compiler under AddressSanitizer/UBSan (not part of
# the build or the test suite; the evidence behind patches/30-parser-out-of-memory.patch).
#
#   native/quickjs/tests/oom_sweep.sh [STEP]    (from the repository; STEP defaults to 7 bytes)
#
# Extracts the cached sdist (native/quickjs/build/, run build.py once first), applies our patches
# as build.py does, compiles oom_sweep.c with -fsanitize=address,undefined and runs it on each
# oom-*.js here: for every limit from 0 to 80 KB above a fresh context's usage, in steps of STEP
# bytes, the script is evaluated under JS_SetMemoryLimit. Any invalid access or leak aborts with
# ASan's report; a result other than out of memory or the script's own one is printed. About
# 10 minutes at STEP=7 on one core.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
step=${1:-7}
. "$here"/asan_build.sh
asan_build oom_sweep
for script in "$here"/oom-*.js; do
    "$work"/oom_sweep "$script" 0 80000 "$step"
done
