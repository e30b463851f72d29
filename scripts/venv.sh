# Sourced by run.sh and test.sh: create .venv with Python >= 3.11, install a requirements file and
# build orchweb's QuickJS binding (native/quickjs). Each happens only when its inputs changed (a
# stamp in .venv; build.py keeps its own next to the module), so repeated runs start fast.

# Print a Python >= 3.11 interpreter to build the virtualenv with: $PYTHON when set; else the
# distribution's own (/usr/bin: Debian, Ubuntu and Fedora build it with profile-guided and
# link-time optimisation, 10-20% less CPU a simulated interaction or step than pyenv's default build here,
# docs/performance.md "The interpreter") when it has what the venv and the binding's build need
# (venv with pip, the headers); else the first on PATH.
orchweb_find_python() {
    local candidate usable='import sys; sys.exit(sys.version_info < (3, 11))'
    local complete='import ensurepip, os, sys, sysconfig, venv
sys.exit(sys.version_info < (3, 11) or not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'
    if [ -n "${PYTHON:-}" ]; then
        if command -v "$PYTHON" >/dev/null 2>&1 && "$PYTHON" -c "$usable" 2>/dev/null; then
            command -v "$PYTHON"
            return 0
        fi
        echo "PYTHON=$PYTHON is not a Python 3.11 or newer" >&2
        return 1
    fi
    for candidate in /usr/bin/python3.11 /usr/bin/python3.12 /usr/bin/python3.13; do
        if [ -x "$candidate" ] && "$candidate" -c "$complete" 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    for candidate in python3.11 python3.12 python3.13 python3; do
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "$usable" 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    echo "orchweb needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
    return 1
}

# orchweb_ensure_venv REQUIREMENTS_FILE
orchweb_ensure_venv() {
    local requirements=$1 python stamp
    if [ ! -x .venv/bin/python ]; then
        python=$(orchweb_find_python)
        echo "Creating .venv with $python"
        if ! "$python" -m venv .venv; then
            # Debian ships venv support separately.
            if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
                rm -rf .venv
                apt-get update -q && apt-get install -y -q python3-venv
                "$python" -m venv .venv
            else
                echo "could not create .venv: install python3-venv" >&2
                return 1
            fi
        fi
    fi
    stamp=".venv/.installed-$(basename "$requirements")-$(cat requirements*.txt | sha256sum | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        echo "Installing $requirements into .venv"
        .venv/bin/python -m pip install --disable-pip-version-check -qq -r "$requirements"
        touch "$stamp"
    fi
    # Needs gcc and the Python headers; fetches the pinned quickjs-ng sdist from PyPI once.
    .venv/bin/python native/quickjs/build.py
}

# Compile the engine's and the ORS layer's hot modules with mypyc when their sources changed (scripts/build_engine.py;
# ORCHWEB_NO_MYPYC=1 skips it). Without a C compiler or Python's headers the engine runs from its
# Python sources, slower; CI (CI=true) must build, so that the suite runs what production runs.
orchweb_build_engine() {
    if ! .venv/bin/python scripts/build_engine.py; then
        case "$(printf '%s' "${CI:-}" | tr '[:upper:]' '[:lower:]')" in 1 | true | yes) return 1 ;; esac
        echo "The engine runs from its Python sources (install gcc and the Python headers to compile it)" >&2
    fi
}
