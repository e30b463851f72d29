"""Build and install `orchweb_quickjs`, orchweb's QuickJS binding (module.c next to this file).

Run by scripts/venv.sh (so by run.sh and test.sh) with the virtualenv's Python:
``.venv/bin/python native/quickjs/build.py [--check]``. It does nothing when the installed module
was built from the current sources; otherwise it fetches the pinned quickjs-ng sdist from PyPI
(``pip download``, checked against its sha256; cached in native/quickjs/build/), compiles our
module.c (with es5_context.h, which a test harness shares) against the sdist's upstream QuickJS
sources, with our patches (patches/*.patch, applied in name order with ``patch -p1`` inside
upstream-quickjs/; one that does not apply exactly fails the build), and installs the extension
into the running interpreter's site-packages. ``--check`` only reports: exit status 1 when a build
is needed.

The upstream C sources (2.8 MB) are never vendored: the sdist pins exactly which QuickJS we run,
and each patch says what it changes and why in its own header.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
SDIST = "quickjs-ng==0.17.0.2"
SDIST_FILE = "quickjs_ng-0.17.0.2.tar.gz"
SDIST_SHA256 = "43d2e48272208721a7aaea8e3f02d4b9318f12ef20cc4f5421b59d9a470706ef"
UPSTREAM_SOURCES = ("quickjs.c", "libregexp.c", "libunicode.c", "dtoa.c")
MODULE = "orchweb_quickjs"
#: the compiler flags of the PyPI wheels' setuptools build (CPython's OPT), without -g; plus hidden
#: visibility: the module exports only PyInit (PyMODINIT_FUNC), so QuickJS's public functions
#: (JS_FreeValueRT, js_malloc_rt, JS_DefineProperty...) are called directly, not through the PLT,
#: and may be inlined inside quickjs.c (-4% of an ORS interaction's instructions)
CFLAGS = ("-DNDEBUG", "-fwrapv", "-O3", "-fPIC", "-fvisibility=hidden")
#: profile-guided: the module is built instrumented, runs pgo_training.py (the starter strategy
#: and a script of the built-ins Composer uses), and is built again with the counts it wrote: the
#: compiler inlines and lays out the interpreter's, allocator's and collector's hot paths by them
#: (-9% of an ORS interaction's instructions). ORCHWEB_QUICKJS_PGO=0 builds without (twice as
#: fast, for work on module.c; its own digest, so the next default build redoes it)
PGO = os.environ.get("ORCHWEB_QUICKJS_PGO", "1") != "0"
PGO_USE = ("-fprofile-use", "-fprofile-partial-training", "-Wno-missing-profile")
#: what the build depends on besides the sdist and the patches (a change to any of them rebuilds)
INPUTS = ("module.c", "es5_context.h", "build.py", "pgo_training.py")
PATCHES = "patches"


def patches(directory: Path = HERE) -> list[Path]:
    """Our patches of upstream QuickJS, in the order they are applied."""
    return sorted((directory / PATCHES).glob("*.patch"))


def patches_digest(directory: Path = HERE) -> str:
    h = hashlib.sha256()
    for path in patches(directory):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def source_digest(directory: Path = HERE) -> str:
    """Digest of everything the built module depends on: our sources, the sdist, the flags and
    the interpreter's ABI (the installed module records it; a mismatch means stale)."""
    h = hashlib.sha256()
    for name in INPUTS:
        h.update(name.encode() + b"\0" + (directory / name).read_bytes() + b"\0")
    h.update(patches_digest(directory).encode())
    h.update(f"{SDIST_SHA256}\0{' '.join(CFLAGS)}\0{sysconfig.get_config_var('EXT_SUFFIX')}\0{PGO}".encode())
    return h.hexdigest()[:16]


def install_dir() -> Path:
    return Path(sysconfig.get_paths()["platlib"])


def stamp_path(target: Path) -> Path:
    return target / f"{MODULE}.digest"


def is_current(target: Path, digest: str) -> bool:
    """Whether `target` holds a module built from sources with `digest`."""
    stamp = stamp_path(target)
    module = target / f"{MODULE}{sysconfig.get_config_var('EXT_SUFFIX')}"
    return module.exists() and stamp.exists() and stamp.read_text().strip() == digest


def fetch_sdist(cache: Path) -> Path:
    """The pinned sdist in `cache`, downloaded with pip if missing; its sha256 is checked."""
    cache.mkdir(parents=True, exist_ok=True)
    archive = cache / SDIST_FILE
    if not archive.exists() or _sha256(archive) != SDIST_SHA256:
        archive.unlink(missing_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q", "--no-deps",
             "--no-binary", ":all:", "-d", str(cache), SDIST],
            check=True,
        )  # fmt: skip
    digest = _sha256(archive)
    if digest != SDIST_SHA256:
        archive.unlink()
        raise SystemExit(f"build.py: {SDIST_FILE} has sha256 {digest}, expected {SDIST_SHA256}")
    return archive


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(target: Path, cache: Path = HERE / "build") -> Path:
    """Compile module.c against the sdist's QuickJS into `target`; returns the module's path."""
    digest = source_digest()
    archive = fetch_sdist(cache)
    with tempfile.TemporaryDirectory(prefix="orchweb-quickjs-") as tmp:
        work = Path(tmp)
        with tarfile.open(archive) as tar:
            root = SDIST_FILE.removesuffix(".tar.gz")
            members = [m for m in tar.getmembers() if m.name.startswith(f"{root}/upstream-quickjs/")]
            if hasattr(tarfile, "data_filter"):
                tar.extractall(work, members=members, filter="data")
            else:  # a Python before 3.11.4 (Debian 12's 3.11.2): the "data" filter's checks, here
                for member in members:
                    if not (member.isfile() or member.isdir()) or ".." in Path(member.name).parts:
                        raise SystemExit(f"build.py: {SDIST_FILE} holds an unexpected member {member.name!r}")
                    member.mode &= 0o755
                tar.extractall(work, members=members)
        upstream = work / root / "upstream-quickjs"
        for patch in patches():
            subprocess.run(["patch", "-p1", "--batch", "--forward", "--silent", "--fuzz=0", "-d", str(upstream),
                            "-i", str(patch)], check=True)  # fmt: skip
        (work / "upstream-quickjs").symlink_to(upstream)  # module.c includes "upstream-quickjs/quickjs.h"
        for name in ("module.c", "es5_context.h"):
            shutil.copy(HERE / name, work / name)
        include = sysconfig.get_paths()["include"]
        sources = [work / "module.c", *(upstream / name for name in UPSTREAM_SOURCES)]

        # keyed by the flags and the patches: a patched upstream object is another object
        objects_key = hashlib.sha256(f"{' '.join(CFLAGS)}\0{patches_digest()}".encode()).hexdigest()[:8]
        objects_cache = cache / f"objects-{objects_key}"
        objects_cache.mkdir(exist_ok=True)

        def compile_one(source: Path, extra: tuple[str, ...] = ()) -> Path:
            # Upstream objects depend only on the sdist (checked above), the patches and the flags:
            # compiled once (not those of a profile-guided build: they depend on its counts too).
            cached = objects_cache / source.with_suffix(".o").name
            if not PGO and source.name != "module.c" and cached.exists():
                return cached
            obj = source.with_suffix(".o")  # the same path in both builds: it names the counts' file
            warnings = "-Wall" if source.name == "module.c" else "-w"  # upstream's are not ours to fix
            subprocess.run(
                ["gcc", *CFLAGS, *extra, warnings, f"-DORCHWEB_SOURCE_DIGEST=\"{digest}\"",
                 f"-DORCHWEB_PROFILE_GUIDED={int(PGO)}", f"-I{include}", f"-I{work}", "-c", str(source),
                 "-o", str(obj)],
                check=True,
            )  # fmt: skip
            if not PGO and source.name != "module.c":
                shutil.copy(obj, cached.with_suffix(".tmp"))
                cached.with_suffix(".tmp").replace(cached)  # never a half-written object in the cache
            return obj

        def link(extra: tuple[str, ...], built: Path) -> None:
            with ThreadPoolExecutor() as pool:
                objects = list(pool.map(lambda source: compile_one(source, extra), sources))
            subprocess.run(["gcc", "-shared", *extra, *map(str, objects), "-lm", "-lpthread", "-o", str(built)],
                           check=True)  # fmt: skip

        built = work / f"{MODULE}{sysconfig.get_config_var('EXT_SUFFIX')}"
        if PGO:
            profile = work / "profile"
            instrumented = work / "instrumented"
            instrumented.mkdir()
            link(("-fprofile-generate", f"-fprofile-dir={profile}", "-fprofile-update=atomic"),
                 instrumented / built.name)  # fmt: skip
            subprocess.run([sys.executable, str(HERE / "pgo_training.py"), str(instrumented)], check=True,
                           env={**os.environ, "PYTHONHASHSEED": "0"})  # fmt: skip
            link((*PGO_USE, f"-fprofile-dir={profile}"), built)
        else:
            link((), built)
        target.mkdir(parents=True, exist_ok=True)
        installed = target / built.name
        # Replace atomically: a running process keeps its mapping of the old file.
        shutil.copy(built, target / f".{built.name}.tmp")
        (target / f".{built.name}.tmp").replace(installed)
    stamp_path(target).write_text(digest + "\n")
    return installed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a build is needed, build nothing")
    parser.add_argument("--target", type=Path, default=None, help="install directory (default: site-packages)")
    args = parser.parse_args(argv)
    target = args.target or install_dir()
    if is_current(target, source_digest()):
        return 0
    if args.check:
        print(f"build.py: {MODULE} in {target} is missing or stale", file=sys.stderr)
        return 1
    print(f"Building {MODULE} (QuickJS from {SDIST}) into {target}", file=sys.stderr)
    build(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
