"""The mypyc build of the engine and the ORS layer traces what their Python sources trace.

A recipe's trace must not depend on whether a process runs the build (a machine without a
compiler, a stale build and ORCHWEB_NO_MYPYC=1 run the sources): `tests.ors.parity` runs every
ORS action with each expression attribute set to odd values, every `_genesys` function with odd
arguments, and all of them under fakes profiles with odd values, here (compiled) and in a child
process on the sources.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import simulator.ors  # noqa: F401  (decides on the ORS build)
from simulator.scxml import compiled
from tests.conftest import ROOT, skip_or_fail
from tests.ors import parity


def test_every_action_and_genesys_function_traces_alike_compiled_and_from_the_sources() -> None:
    if set(compiled.states.values()) != {"compiled"}:
        skip_or_fail(f"not compiled here ({compiled.states}): run scripts/build_engine.py")
    with subprocess.Popen(  # beside this process's own run
        [sys.executable, "-m", "tests.ors.parity"],
        cwd=ROOT,
        env={**os.environ, "ORCHWEB_NO_MYPYC": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        here = {**parity.cases(), **parity.profile_cases()}
        out, err = child.communicate()
    assert child.returncode == 0, err
    from_sources = json.loads(out)
    assert len(here) > 3000  # every module's actions were reached
    assert sum(name.startswith("fakes ") for name in here) > 250  # and the profile's fields
    assert sum(trace.startswith("refused") for trace in here.values()) < len(here) // 10
    differing = parity.differences(here, from_sources)
    assert not differing, f"{len(differing)} cases differ, e.g. {differing[:5]}: {here.get(differing[0], '')[:2000]}"
