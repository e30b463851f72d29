"""The W3C null datamodel (B.1) and the choice between it and the ECMAScript datamodel."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache
from types import ModuleType
from typing import Any

from .profile import Profile

_IN = re.compile(r"\s*In\(\s*['\"]([^'\"]+)['\"]\s*\)\s*")
_STRING = re.compile(r"\s*'([^']*)'\s*|\s*\"([^\"]*)\"\s*")


class NullDataModel:
    """W3C B.1 null datamodel: no data, the only condition is `In('state')`."""

    def __init__(self, **_: Any):
        self.functions: dict[str, Callable[..., Any]] = {}

    def _fail(self, what: str) -> None:
        from .datamodel import JSError  # same exception type as the ECMAScript datamodel

        raise JSError("TypeError", f"the null datamodel cannot evaluate {what!r}", None)

    def install_time(self, *_: Any) -> None:
        """No scripts, so no `Date` to set."""

    def evaluate_bool(self, expr: str) -> bool:
        match = _IN.fullmatch(expr)
        if match and "In" in self.functions:
            return bool(self.functions["In"](match.group(1)))
        self._fail(expr)
        return False

    def evaluate(self, expr: str) -> Any:
        match = _STRING.fullmatch(expr)
        if match:  # string literals, so <log expr="'pass'"/> still logs something useful
            return match.group(1) if match.group(1) is not None else match.group(2)
        self._fail(expr)
        return None

    def assign(self, location: str, expr: str) -> None:
        self._fail(location)

    def assign_value(self, location: str, value: Any) -> None:
        self._fail(location)

    def declare(self, id: str, expr: str | None) -> None:
        if expr is not None:
            self._fail(expr)

    def declare_value(self, id: str, value: Any) -> None:
        pass

    def execute(self, script: str, name: str = "<input>") -> None:
        self._fail(script)

    def is_valid_location(self, location: str) -> bool:
        return False

    def set_event(self, *args: Any) -> None:
        pass

    def set_system(self, name: str, value: Any) -> None:
        pass

    def set_systems(self, items: Iterable[tuple[str, Any]]) -> None:
        pass

    def define_function(self, name: str, fn: Callable[..., Any]) -> None:
        self.functions[name] = fn

    def define_predicate(self, name: str, fn: Callable[[str], bool]) -> None:
        self.functions[name] = fn

    def snapshot_json(self, names: Iterable[str] | None = None) -> dict[str, str | None]:
        return {}

    def snapshot(self, names: Iterable[str] | None = None) -> dict[str, Any]:
        return {}

    def changes(self, reset: bool = False) -> tuple[dict[str, Any], list[str]]:
        return {}, []

    def close(self) -> None:
        pass


@cache
def _datamodel_module() -> ModuleType:
    # imported on first use (graph/lint users need no JS engine), then kept: an import statement
    # run for every session cost ~10k instructions, 1.3% of a pingpong session's creation
    from . import datamodel

    return datamodel


def make_datamodel(
    kind: str,
    profile: Profile,
    memory_limit: int,
    time_limit: float,
    runtimes: Callable[[], Any] | None = None,
    session: Any = None,
) -> Any:
    """A new datamodel of the document's kind ("null" or "ecmascript"); an ECMAScript one gets its
    context in a runtime of the pool `runtimes()` returns (None: a runtime of its own), with the
    built-ins `profile.js_intrinsics(session)` names."""
    if kind == "null":
        return NullDataModel()
    return _datamodel_module().ECMAScriptDataModel(
        memory_limit=memory_limit,
        time_limit=time_limit,
        preprocess=profile.preprocess_script,
        runtimes=runtimes() if runtimes is not None else None,
        intrinsics=profile.js_intrinsics(session),
    )
