#!/bin/sh
# Function-list atoms made once per runtime, JSON strings quoted in place and a context that could
# not be made unlinked, under AddressSanitizer/UBSan with QuickJS's assertions on (not part of the
# build or the test suite; the evidence behind patches/96-function-list-atoms.patch,
# 97-json-quote-in-place.patch and 98-new-context-out-of-memory.patch; see function_list_atoms.c
# for what it runs).
#
#   native/quickjs/tests/function_list_atoms.sh [TO [STEP]]    (out-of-memory sweep of making
#                                        contexts and stringifying up to TO bytes, by STEP)
#
# Extracts the cached sdist (native/quickjs/build/, run build.py once first), applies our patches
# as build.py does, compiles function_list_atoms.c with -fsanitize=address,undefined and runs it.
# Any invalid access or leak aborts with ASan's report; a failed check is printed and exits 1.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here"/asan_build.sh
asan_build function_list_atoms
"$work"/function_list_atoms "$@"
