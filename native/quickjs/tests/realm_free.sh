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
quickjs=$(dirname "$here")
work=$(mktemp -d "${TMPDIR:-/tmp}/realm-free.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -xzf "$quickjs"/build/quickjs_ng-0.17.0.2.tar.gz -C "$work" quickjs_ng-0.17.0.2/upstream-quickjs
src=$work/quickjs_ng-0.17.0.2/upstream-quickjs
for patch in "$quickjs"/patches/*.patch; do
    patch -p1 --batch --forward --silent --fuzz=0 -d "$src" -i "$patch"
done
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1 -w"
gcc $flags -I"$src" "$here"/realm_free.c "$src"/quickjs.c "$src"/libregexp.c "$src"/libunicode.c \
    "$src"/dtoa.c -lm -lpthread -o "$work"/realm_free
"$work"/realm_free "$@"
