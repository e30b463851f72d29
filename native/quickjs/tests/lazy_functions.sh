#!/bin/sh
# Lazy global functions under AddressSanitizer/UBSan with QuickJS's assertions on (not part of
# the build or the test suite; the C side of the review of patches/50-lazy-global-functions.patch;
# see lazy_functions.c for what it runs).
#
#   native/quickjs/tests/lazy_functions.sh [TO [STEP]]    (from the repository; out-of-memory
#                                         sweep of the first touches up to TO bytes, by STEP)
#
# Extracts the cached sdist (native/quickjs/build/, run build.py once first), applies our patches
# as build.py does, compiles lazy_functions.c with -fsanitize=address,undefined and runs it. Any
# invalid access or leak aborts with ASan's report; a failed check is printed and exits 1.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here"/asan_build.sh
asan_build lazy_functions
"$work"/lazy_functions "$@"
