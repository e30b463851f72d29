"""Dialog (treatment) interface (``http://www.genesyslab.com/modules/dialog``, ``_genesys.dialog``).

Spec: ``spec/ors-interaction-dialog.md`` section 2.  Actions start (GVP application), play,
playsound, collect, playandcollect, playandverify, stop, createannouncement; runtreatments,
pause and remote are treatment containers/elements that generate no events.  Fake: applications
run for ``dialog.duration`` virtual seconds and may attach udata (the "IVR results"); collections
return ``dialog.digits``; a hang-up fails the running dialog with ``error='cancelled'``.
"""

from __future__ import annotations

from .base import (
    HINTS,
    INTERACTIONID,
    PARAM,
    REQUESTID,
    Action,
    Attr,
    Child,
    Emit,
    EventDecl,
    FakeEnv,
    FakeFn,
    FakesSection,
    Module,
    Request,
    duration_seconds,
    error_emit,
    find_children,
    module,
    request_interaction_id,
    required_refusal,
)

#: the profile section this module reads; a rule's ``params`` follow the same schema
FAKES = (
    FakesSection(
        "dialog",
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "duration": {"type": "number", "minimum": 0},
                "prompt_seconds": {"type": "number", "minimum": 0},
                "digits": {"type": "string"},
                "no_input": {"enum": ["error", "done"]},
                "extensions": {"type": "object"},
                "udata": {"type": "object", "description": "udata the IVR app attaches before dialog.start.done"},
                "hangup_error": {"type": "string"},
            },
        },
        {
            "duration": 2.0,
            "prompt_seconds": 1.0,
            "digits": "1",
            "no_input": "error",
            "extensions": {},
            "udata": {},
            "hangup_error": "cancelled",
        },
        doc="how long treatments and GVP applications run, what callers type",
    ),
)

PROMPT = Child(
    "prompt",
    attributes=(
        Attr("intid", type="integer"),
        Attr("number", type="string"),
        Attr("userannid", type="string"),
        Attr("text", type="string"),
        Attr("interrupt", type="boolean"),
        Attr("digits"),
        Attr("silence"),
        Attr("date"),
        Attr("time"),
        Attr("money"),
        Attr("file"),
        Attr("url"),
    ),
)
PROMPTS = Child(
    "prompts",
    attributes=(
        Attr(
            "type",
            kind="literal",
            default="ann",
            values=("tts", "ann", "iretry", "ifailure", "isuccess", "itimeout", "MSG_type"),
        ),
    ),
    children=(PROMPT,),
)
INPUT = Child(
    "input",
    max=1,
    attributes=tuple(
        Attr(n)
        for n in (
            "max_digits",
            "min_digits",
            "abort_digits",
            "term_digits",
            "total_timeout",
            "start_timeout",
            "digit_timeout",
            "reset_digits",
            "backspace_digits",
            "ignore_digits",
            "clear_buffer",
            "clear",
        )
    ),
)
COMMON = (
    REQUESTID,
    INTERACTIONID,
    Attr("device", type="string", doc="DN: ORS plays the treatment itself"),
    HINTS,
    Attr("language", type="string"),
    Attr("resource"),
)


def _ixn_missing(request: Request, env: FakeEnv, action: Action) -> list[Emit] | None:
    ixn = request_interaction_id(request, env)
    if ixn is None or env.interaction(ixn) is None:
        emit = error_emit(MODULE, action, "invalidstate.null", f"interaction {ixn!r} is not in this session", 0.05)
        return [Emit(emit.name, {**emit.data, "extensions": {}}, delay=emit.delay, final=True)]
    return None


def refuse_start(request: Request) -> tuple[str, str] | None:
    """A dialog with no application to run is refused whatever the fakes say: ``<param name=
    'APP_URI'>`` (Composer) or ``APP_ID`` must give one."""
    refusal = required_refusal(MODULE, START, request)
    if refusal is not None:
        return refusal
    app = {
        p["attributes"].get("name"): p["attributes"].get("expr")
        for p in find_children(request.children, "param")
        if p["attributes"].get("name") in ("APP_URI", "APP_ID")
    }
    if any(v not in (None, "") for v in app.values()):
        return None
    shown = next(iter(app.values()), None)
    return "invalidattribute", f"The attribute dialog:APP_URI has an invalid value ({'' if shown is None else shown})"


def fake_start(request: Request, env: FakeEnv) -> list[Emit]:
    """After ``duration`` s: attach the IVR's udata, ``interaction.udata.changed``, then done."""
    action = MODULE.actions["start"]
    problem = _ixn_missing(request, env, action)
    if problem:
        return problem
    cfg = env.config("dialog")
    duration = float(cfg["duration"])
    emits: list[Emit] = []
    udata = dict(cfg["udata"])
    if udata:
        ixn = request.attributes.get("interactionid") or env.primary_interaction_id()

        def apply(e: FakeEnv) -> None:
            e.merge_udata(ixn, udata)

        emits.append(Emit("interaction.udata.changed", {"interactionid": ixn}, duration, request=False, effect=apply))
    emits.append(Emit("dialog.start.done", {"extensions": dict(cfg["extensions"])}, delay=duration, final=True))
    return emits


def fake_play(request: Request, env: FakeEnv) -> list[Emit]:
    """``dialog.play.done`` after ``prompt_seconds`` per prompt."""
    action = MODULE.actions["play"]
    problem = _ixn_missing(request, env, action)
    if problem:
        return problem
    cfg = env.config("dialog")
    n = max(1, len(find_children(request.children, "prompt")))
    return [
        Emit(
            "dialog.play.done",
            {"extensions": dict(cfg["extensions"])},
            delay=n * float(cfg["prompt_seconds"]),
            final=True,
        )
    ]


def fake_playsound(request: Request, env: FakeEnv) -> list[Emit]:
    """Done after ``duration`` s; without a duration it plays until stopped (no event)."""
    action = MODULE.actions["playsound"]
    problem = _ixn_missing(request, env, action)
    if problem:
        return problem
    duration = request.attributes.get("duration")
    try:
        seconds = float(str(duration).strip()) if duration not in (None, "") else None
    except ValueError:
        return [
            error_emit(
                MODULE,
                action,
                "invalidattribute",
                f"The attribute dialog:duration has an invalid value ({duration})",
                0.0,
            )
        ]
    if seconds is None:
        return []
    cfg = env.config("dialog")
    return [Emit("dialog.playsound.done", {"extensions": dict(cfg["extensions"])}, delay=seconds, final=True)]


def fake_collecting(name: str) -> FakeFn:
    """Fake for collect/playandcollect/playandverify: the profile's digits (or no-input)."""

    def fake(request: Request, env: FakeEnv) -> list[Emit]:
        action = MODULE.actions[name]
        problem = _ixn_missing(request, env, action)
        if problem:
            return problem
        cfg = env.config("dialog")
        prompts = len(find_children(request.children, "prompt"))
        delay = prompts * float(cfg["prompt_seconds"]) + 1.0
        digits = str(cfg["digits"])
        inp = request.child("input")
        start_timeout = duration_seconds(inp["attributes"].get("start_timeout")) if inp else None
        if inp:
            for key in ("term_digits", "ignore_digits"):
                for ch in str(inp["attributes"].get(key) or ""):
                    digits = digits.replace(ch, "")
            max_digits = inp["attributes"].get("max_digits")
            if str(max_digits or "").strip().isdigit() and int(str(max_digits).strip()) > 0:
                digits = digits[: int(str(max_digits).strip())]
        if digits == "" and start_timeout is not None:  # nobody types: the first digit never comes
            delay = prompts * float(cfg["prompt_seconds"]) + start_timeout
        if digits == "" and cfg["no_input"] == "error":
            return [error_emit(MODULE, action, "timeout", "no input", delay)]
        data = {"digits": digits, "extensions": dict(cfg["extensions"])}
        return [Emit(f"dialog.{name}.done", data, delay=delay, final=True)]

    fake.__name__ = f"fake_{name}"
    return fake


def fake_stop(request: Request, env: FakeEnv) -> list[Emit]:
    """``dialog.stop.done``, then the stopped dialog's error event with ``error='cancelled'``."""
    target = request.attributes.get("requestid_to_stop") or request.attributes.get("id")
    delay = 0.05
    emits = [Emit("dialog.stop.done", {}, delay=delay, final=True)]
    for victim in env.pending("dialog"):
        if victim.id == request.id or (target not in (None, "") and victim.id != str(target)):
            continue
        env.cancel_request(
            victim.id,
            [
                Emit(
                    f"error.dialog.{victim.action}",
                    {"error": "cancelled", "description": "stopped", "extensions": {}},
                    delay=2 * delay,  # after dialog.stop.done
                    final=True,
                )
            ],
        )
    return emits


def fake_createannouncement(request: Request, env: FakeEnv) -> list[Emit]:
    """``dialog.createannouncement.done`` with a new ``userannid``."""
    return [Emit("dialog.createannouncement.done", {"userannid": env.new_id("ann"), "extensions": {}}, 1.0, final=True)]


def _for(request: Request, ixn: str) -> bool:
    """Whether `request` plays for interaction `ixn` (no ``interactionid``: the first one)."""
    return request.attributes.get("interactionid") in (None, "", 0, "0", ixn)


def interaction_left(env: FakeEnv, ixn: str, why: str) -> list[tuple[Request, Emit]]:
    """The call left: its running dialogs and treatments end with ``error.dialog.<action>
    {error: dialog.hangup_error ('cancelled')}``; nothing keeps playing for a call that is gone."""
    code = env.config("dialog")["hangup_error"]
    return [
        (
            r,
            Emit(
                f"error.dialog.{r.action}",
                {"error": code, "description": why, "extensions": {}},
                final=True,
            ),
        )
        for r in env.pending("dialog")
        if _for(r, ixn)
    ]


TREATMENT_CHILDREN = (
    Child("play", open=True),
    Child("playsound", open=True),
    Child("collect", open=True),
    Child("playandcollect", open=True),
    Child("playandverify", open=True),
    Child("start", open=True),
    Child("pause", open=True),
    Child("remote", open=True),
)

START = Action(
    "start",
    attributes=(*COMMON, Attr("type", type="string", doc="'applid' (Composer)")),
    children=(PARAM,),
    events=("dialog.start.done", "error.dialog.start", "dialog.start.requestid"),
    errors=("invalidattribute", "unknown", "invalidstate.null", "remote", "cancelled", "timeout"),
    fake=fake_start,
    refuse=lambda request: refuse_start(request),
    doc="run a dialog application (GVP VXML via APP_URI)",
)
ACTIONS = (
    START,
    Action(
        "play", attributes=COMMON, children=(PROMPTS,), events=("dialog.play.done", "error.dialog.play"), fake=fake_play
    ),
    Action(
        "playsound",
        attributes=(*COMMON, Attr("type", required=True, type="string"), Attr("duration"), Attr("repeat")),
        events=("dialog.playsound.done", "error.dialog.playsound"),
        fake=fake_playsound,
    ),
    Action(
        "collect",
        attributes=COMMON,
        children=(PROMPTS, INPUT),
        events=("dialog.collect.done", "error.dialog.collect"),
        fake=fake_collecting("collect"),
    ),
    Action(
        "playandcollect",
        attributes=COMMON,
        children=(PROMPTS, INPUT),
        events=("dialog.playandcollect.done", "error.dialog.playandcollect"),
        fake=fake_collecting("playandcollect"),
    ),
    Action(
        "playandverify",
        attributes=(*COMMON, Attr("verify"), Attr("attempts"), Attr("data")),
        children=(PROMPTS, INPUT),
        events=("dialog.playandverify.done", "error.dialog.playandverify"),
        fake=fake_collecting("playandverify"),
    ),
    Action(
        "stop",
        attributes=(REQUESTID, Attr("interactionid"), Attr("requestid_to_stop"), Attr("id")),
        events=("dialog.stop.done", "error.dialog.stop"),
        fake=fake_stop,
    ),
    Action(
        "createannouncement",
        attributes=COMMON,
        children=(PROMPTS, INPUT),
        events=("dialog.createannouncement.done", "error.dialog.createannouncement"),
        fake=fake_createannouncement,
    ),
    Action(
        "runtreatments",
        children=TREATMENT_CHILDREN,
        asynchronous=False,
        doc="treatment list; inside queue:submit/update while waiting; no events",
    ),
    Action("pause", attributes=(Attr("duration"),), asynchronous=False, doc="silent pause (treatment list)"),
    Action("remote", attributes=(Attr("destination"), Attr("default")), asynchronous=False),
)

JS = r"""
(function (g) {
  g.dialog = {};
})(_genesys);
"""

MODULE: Module = module(
    "dialog",
    actions=ACTIONS,
    fakes=FAKES,
    interaction_left=interaction_left,
    events=(
        *(
            EventDecl(f"dialog.{a}.done", ("requestid", "interactionid", "extensions"))
            for a in ("start", "play", "playsound", "createannouncement")
        ),
        *(
            EventDecl(f"dialog.{a}.done", ("requestid", "digits", "extensions"))
            for a in ("collect", "playandcollect", "playandverify")
        ),
        EventDecl("dialog.start.requestid", ("requestid",)),
        EventDecl("dialog.play.requestid", ("requestid",)),
        EventDecl("dialog.stop.done", ("requestid",)),
        *(
            EventDecl(f"error.dialog.{a}", ("requestid", "error", "description", "extensions"))
            for a in (
                "start",
                "play",
                "playsound",
                "collect",
                "playandcollect",
                "playandverify",
                "stop",
                "createannouncement",
            )
        ),
    ),
    js=JS,
    js_members=(),
    doc="treatments and dialog applications",
)
