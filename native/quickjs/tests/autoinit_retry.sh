#!/bin/sh
# Patch 70 (autoinit built-ins stay lazy when their first touch fails) under AddressSanitizer/UBSan
# with QuickJS's assertions on (not part of the build or the test suite; see autoinit_retry.c).
#
#   native/quickjs/tests/autoinit_retry.sh [TO [STEP]]    (from the repository; memory limits up
#                                          to TO bytes above the context's heap, by STEP, default 1)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here"/asan_build.sh
asan_build autoinit_retry
"$work"/autoinit_retry "$@"
