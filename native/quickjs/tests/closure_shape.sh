#!/bin/sh
# A normal function's shape made once per context under AddressSanitizer/UBSan with QuickJS's
# assertions on (not part of the build or the test suite; the evidence behind
# patches/95-closure-shape.patch; see closure_shape.c for what it runs).
#
#   native/quickjs/tests/closure_shape.sh [TO [STEP]]    (from the repository; out-of-memory
#                                        sweep of making functions up to TO bytes, by STEP)
#
# Extracts the cached sdist (native/quickjs/build/, run build.py once first), applies our patches
# as build.py does, compiles closure_shape.c with -fsanitize=address,undefined and runs it. Any
# invalid access or leak aborts with ASan's report; a failed check is printed and exits 1.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here"/asan_build.sh
asan_build closure_shape
"$work"/closure_shape "$@"
