"""Helpers for the engine tests: build a chart from text and run it on the virtual clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from simulator.scxml.datamodel import ECMAScriptDataModel, SharedCode
from simulator.scxml.interpreter import Session, SessionGroup
from simulator.scxml.model import model_from_string
from simulator.scxml.profile import W3C, Profile

SCXML = '<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="{datamodel}"{attrs}>{body}</scxml>'


def chart(body: str, datamodel: str = "ecmascript", **attrs: str) -> str:
    """A complete <scxml> document around `body`."""
    extra = "".join(f' {k}="{v}"' for k, v in attrs.items())
    return SCXML.format(datamodel=datamodel, attrs=extra, body=body)


class Run:
    """A started session with its group and every trace record it emitted."""

    def __init__(self, text: str, profile: Profile = W3C, seed: int = 0, project: dict | None = None, **options: Any):
        self.model = model_from_string(text, "chart.scxml", profile, project)
        assert not self.model.errors, [str(e) for e in self.model.errors]
        self.group = SessionGroup(seed=seed, profile=profile)
        self.records: list[dict] = []
        self.group.listeners.append(self.records.append)
        self.session: Session = self.group.create_session(self.model, **options)
        self.session.start()

    def idle(self, **kwargs: Any) -> str:
        return self.group.run_until_idle(**kwargs)

    def of(self, type_: str) -> list[dict]:
        return [r for r in self.records if r["type"] == type_]

    @property
    def configuration(self) -> list[str]:
        return self.session.configuration_ids

    def value(self, expr: str) -> Any:
        return self.session.datamodel.evaluate(expr)


@pytest.fixture
def run():
    """`run(text, **options)` -> Run; closes every session afterwards."""
    made: list[Run] = []

    def factory(text: str, **options: Any) -> Run:
        r = Run(text, **options)
        made.append(r)
        return r

    yield factory
    for r in made:
        for s in list(r.group.sessions.values()):
            s.close()


def counted_models(calls: list[object], sessions: int) -> Iterator[ECMAScriptDataModel]:
    """`sessions` ECMAScript datamodels of one document, one after another (the first compiles its
    functions, the others read them from the shared bundle), each appending to `calls` every JS
    function it runs (through its `_run`); each closed once the next is asked for."""

    class Counted(ECMAScriptDataModel):
        def _run(self, fn: Any, *args: Any) -> Any:
            calls.append(fn)
            return super()._run(fn, *args)

    shared = SharedCode()
    for _ in range(sessions):
        model = Counted()
        model.share_code(shared)
        try:
            yield model
        finally:
            model.close()
