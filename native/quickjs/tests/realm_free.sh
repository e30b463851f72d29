#!/bin/sh
# Realm-free bytecode under AddressSanitizer/UBSan (not part of the build or the test suite; the
# evidence behind patches/40-realm-free-bytecode.patch; see realm_free.c for what it runs).
#
#   native/quickjs/tests/realm_free.sh [TO [STEP]]    (from the repository; out-of-memory sweep
#                                                     of the read path up to TO bytes, by STEP)
#
# Extracts the cached sdist (native/quickjs/build/, run build.py once first), applies our patches
# as build.py does, compiles realm_free.c with -fsanitize=address,undefined and runs it. Any
# invalid access or leak aborts with ASan's report; a failed check is printed and exits 1.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here"/asan_build.sh
asan_build realm_free
"$work"/realm_free "$@"
