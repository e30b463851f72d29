# Sourced by the ASan/UBSan harnesses here (oom_sweep.sh, realm_free.sh): `asan_build NAME` extracts
# the cached sdist (native/quickjs/build/, run build.py once first), applies our patches as build.py
# does, and compiles NAME.c against it with -fsanitize=address,undefined into "$work"/NAME.
# Expects `here` (this folder); sets `work` (a temporary folder removed on exit).
quickjs=$(dirname "$here")
work=$(mktemp -d "${TMPDIR:-/tmp}/quickjs-asan.XXXXXX")
trap 'rm -rf "$work"' EXIT

asan_build() {
    tar -xzf "$quickjs"/build/quickjs_ng-0.17.0.2.tar.gz -C "$work" quickjs_ng-0.17.0.2/upstream-quickjs
    src=$work/quickjs_ng-0.17.0.2/upstream-quickjs
    for patch in "$quickjs"/patches/*.patch; do
        patch -p1 --batch --forward --silent --fuzz=0 -d "$src" -i "$patch"
    done
    flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1 -w"
    gcc $flags -I"$src" -I"$quickjs" -I"$here" "$here/$1.c" "$src"/quickjs.c "$src"/libregexp.c "$src"/libunicode.c \
        "$src"/dtoa.c -lm -lpthread -o "$work/$1"
}
