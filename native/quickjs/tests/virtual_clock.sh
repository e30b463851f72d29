#!/bin/sh
# The virtual clock under AddressSanitizer/UBSan (not part of the build or the test suite; the
# evidence behind patches/80-virtual-clock.patch; see virtual_clock.c for what it runs).
#
#   native/quickjs/tests/virtual_clock.sh [TO [STEP]]    (from the repository; memory limits of
#                                                        the sweep up to TO bytes, by STEP)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here"/asan_build.sh
asan_build virtual_clock
"$work"/virtual_clock "$@"
