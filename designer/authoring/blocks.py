"""Composer-style routing blocks: their parameters and the SCXML each one generates.

The markup follows what Composer 8.1 generates (see the shared spec `composer-blocks.md` and
the samples in `ors-samples/crd-gvp-wf/src-gen/`): one state per block named after it, a
marker comment before it, `App_<Block>['requestid']` kept for every platform request and
compared in the `cond` of every reply, `.done` self-sends guarded by `resolveid` for the blocks
that finish at once, `_reserved_<Block>_<role>` helper states, and one transition per linked
exception port. Where the samples rely on Composer's `include/common.js` (`storeEvent`,
`storeException`) the calls are generated only when the file already uses them.

Markup is produced tab-indented with LF line ends; the edit layer re-indents it for the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from designer.authoring.xmltext import escape_attribute, escape_text

NS = {
    "queue": "http://www.genesyslab.com/modules/queue",
    "ixn": "http://www.genesyslab.com/modules/interaction",
    "dialog": "http://www.genesyslab.com/modules/dialog",
    "session": "http://www.genesyslab.com/modules/session",
}
#: targetless transitions that are book-keeping, not an output port (never connected)
NOT_PORTS = {"queue.submit.requestid", "interaction.added"}
TARGET_TYPES = ("agentgroup", "agent", "placegroup", "place", "queue", "dn", "skill")
TAB = "\t"
_MAX_ROWS = 50
_MAX_VALUE = 20_000


class BlockError(ValueError):
    """Block parameters that cannot generate a block (missing, wrong type, too long)."""


@dataclass(frozen=True)
class Param:
    """One property of a block, as the palette's form shows it.

    `type`: name (the block's state id), target (a state id, the port's link), expr (an
    ECMAScript expression), location (a variable the block writes), text (a literal string),
    script (ECMAScript code), int, bool, choice (one of `choices`), rows (a list of objects
    whose fields are `fields`)."""

    name: str
    label: str
    type: str
    required: bool = False
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] = ()
    fields: tuple[Param, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The declaration as JSON for the palette."""
        out: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "required": self.required,
            "default": self.default,
            "help": self.help,
        }
        if self.choices:
            out["choices"] = list(self.choices)
        if self.fields:
            out["fields"] = [f.to_json() for f in self.fields]
        return out


@dataclass(frozen=True)
class Style:
    """How the file around a new block writes things."""

    #: `$$_MY_PREFIX_$$.` in Composer workflow files, "" otherwise
    prefix: str = ""
    #: the file calls common.js's storeEvent/storeException
    helpers: bool = False
    #: the block declares its own `App_<Block>` (no Composer declaration script to add it to)
    declare: bool = False
    #: an Entry block also generates the `_composer_entry` frame around the workflow
    frame: bool = False


@dataclass(frozen=True)
class BlockSpec:
    """A block of the palette."""

    kind: str
    label: str
    help: str
    params: tuple[Param, ...]
    build: Callable[[dict[str, Any], Style], list[str]]
    #: (prefix, namespace URI) the generated markup uses
    namespaces: tuple[tuple[str, str], ...] = ()
    #: helper state roles (`_reserved_<Block>_<role>`), given the values
    roles: Callable[[dict[str, Any]], tuple[str, ...]] = field(default=lambda values: ())
    #: parameters of an example (docs/designer.md, the text editor's snippet)
    example: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The block's palette entry, with its example as a snippet for the text editor."""
        return {
            "kind": self.kind,
            "label": self.label,
            "help": self.help,
            "params": [p.to_json() for p in self.params],
            "snippet": self.snippet(),
        }

    def snippet(self, style: Style | None = None) -> str:
        """The SCXML of the block's example."""
        return generate(self, validate(self, self.example), style or Style())


# -- markup helpers ---------------------------------------------------------------------------


def _a(value: Any) -> str:
    return escape_attribute(str(value))


def _target(style: Style, sid: str | None) -> str:
    return f' target="{_a(style.prefix + sid)}"' if sid else ""


def _guard(name: str, key: str = "requestid") -> str:
    return _a(f"_event.data.requestid==App_{name}['{key}']")


def _script(code: str, depth: int) -> list[str]:
    """A `<script>` with `code`: CDATA when the code holds markup characters."""
    tab = "\t" * depth
    lines = [line.rstrip() for line in code.strip("\n").split("\n")]
    if any(c in code for c in "<&") and "]]>" not in code:
        body = [f"{tab}\t<![CDATA[", *(f"{tab}\t\t{line}" if line else "" for line in lines), f"{tab}\t]]>"]
    else:
        body = [f"{tab}\t{escape_text(line)}" if line else "" for line in lines]
    return [f"{tab}<script>", *body, f"{tab}</script>"]


def _self_send(event: str, depth: int) -> list[str]:
    tab = "\t" * depth
    return [
        f"{tab}<send event=\"'{_a(event)}'\">",
        f'{tab}\t<param name="resolveid" expr="_my_prefix"/>',
        f"{tab}</send>",
    ]


def _transition(depth: int, attrs: str, body: list[str]) -> list[str]:
    tab = "\t" * depth
    if not body:
        return [f"{tab}<transition{attrs}/>"]
    return [f"{tab}<transition{attrs}>", *body, f"{tab}</transition>"]


def _store_event(name: str, style: Style, depth: int) -> list[str]:
    return [f'{TAB * depth}<script>storeEvent("{name}", _event);</script>'] if style.helpers else []


def _error_port(
    name: str, target: str | None, style: Style, depth: int, event: str = "error", cond: str = ""
) -> list[str]:
    """The exception port: Composer's log lines (+ storeException) on a transition to `target`."""
    if not target:
        return []
    tab = "\t" * (depth + 1)
    body = [
        f"{tab}<log expr=\"'Composer Application: Block: {_a(name)}'\"/>",
        f"{tab}<log expr=\"'ERROR: ' + _event.toSource()\"/>",
    ]
    if style.helpers:
        body.append(f'{tab}<script>storeException("{name}", _event);</script>')
    cond_attr = f' cond="{cond}"' if cond else ""
    return _transition(depth, f' event="{event}"{cond_attr}{_target(style, target)}', body)


def _inside_log(kind: str, name: str, depth: int) -> str:
    return f"{TAB * depth}<log expr=\"_sessionid + ': Inside {kind} Block: {name}'\"/>"


def _declare(name: str, style: Style, depth: int) -> list[str]:
    """`App_<Block>` for files without Composer's declaration script."""
    if not style.declare:
        return []
    tab = "\t" * depth
    return [f"{tab}<onentry>", *_script(f"var App_{name} = new Object();", depth + 1), f"{tab}</onentry>"]


def _marker(name: str) -> str:
    return f"<!-- This is the {name} State -->"


def _sync_block(values: dict[str, Any], style: Style, kind: str, work: list[str]) -> list[str]:
    """Assign / ECMAScript / Log: work in onentry, then the `.script.done` self-send."""
    name = values["name"]
    done = f"{name}.script.done"
    return [
        _marker(name),
        f'<state id="{name}">',
        "\t<onentry>",
        _inside_log(kind, name, 2),
        *work,
        *_self_send(done, 2),
        "\t</onentry>",
        *_transition(
            1,
            f' event="{done}" cond="_event.data.resolveid== _my_prefix"{_target(style, values.get("next"))}',
            _store_event(name, style, 2),
        ),
        *_error_port(name, values.get("error"), style, 1),
        "</state>",
    ]


# -- blocks ----------------------------------------------------------------------------------


def build_entry(values: dict[str, Any], style: Style) -> list[str]:
    """Entry: the workflow's variables, then `<Entry>.done`; with `style.frame` also the
    `_composer_entry` frame holding every block (its declarations), entered once the
    interaction has arrived (`_composer_start`), and the final state it ends in."""
    name = values["name"]
    variables = values.get("variables") or []
    assigns = [f"{v['name']} = {v.get('value') or 'undefined'};" for v in variables]
    if not style.frame:
        assigns = ["var " + line for line in assigns]
    state = [
        _marker(name),
        f'<state id="{name}">',
        "\t<onentry>",
        _inside_log("Entry", name, 2),
        *(_script("\n".join(assigns), 2) if assigns else []),
        *_self_send(f"{name}.done", 2),
        "\t</onentry>",
        *_transition(
            1,
            f' event="{name}.done" cond="_event.data.resolveid == _my_prefix"{_target(style, values.get("next"))}',
            _store_event(name, style, 2),
        ),
        "</state>",
    ]
    if not style.frame:
        return state
    declarations = [f"var App_{name} = new Object();", *(f"var {v['name']} = undefined;" for v in variables)]
    return [
        # a standalone strategy waits for its interaction, as an IPD's event-handler leg does
        '<state id="_composer_start">',
        "\t<onentry>",
        *_script("if (typeof system == 'undefined') { system = new Object(); }", 2),
        "\t</onentry>",
        *_transition(
            1,
            ' event="interaction.added"' + _target(style, "_composer_entry"),
            ['\t\t<assign location="system.InteractionID" expr="_event.data.interactionid"/>'],
        ),
        "</state>",
        f'<state id="_composer_entry" initial="{_a(style.prefix + name)}">',
        "\t<onentry>",
        *_script("\n".join(declarations), 2),
        "\t</onentry>",
        # ... and ends when the workflow does (an IPD does this for the workflows it includes)
        *_transition(1, ' event="done.state._composer_entry"' + _target(style, "_composer_exit"), []),
        *("\t" + line for line in state),
        "</state>",
        '<final id="_composer_exit"/>',
    ]


def build_assign(values: dict[str, Any], style: Style) -> list[str]:
    """Assign: one `variable = expression;` per row in one script."""
    code = "\n".join(f"{row['variable']} = {row['expr']};" for row in values.get("assignments") or [])
    return _sync_block(values, style, "Assign", _script(code, 2) if code else [])


def build_ecmascript(values: dict[str, Any], style: Style) -> list[str]:
    """ECMAScript: the code verbatim; a throw leaves through the error port."""
    return _sync_block(values, style, "Script", _script(values["script"], 2))


def build_log(values: dict[str, Any], style: Style) -> list[str]:
    """Log: one `<log>` line."""
    level = f' level="{_a(values["level"])}"' if values.get("level") is not None else ""
    return _sync_block(values, style, "Log", [f'\t\t<log expr="{_a(values["message"])}"{level}/>'])


def build_branching(values: dict[str, Any], style: Style) -> list[str]:
    """Branching: one `.script.done` transition per condition, in order, then the default."""
    name = values["name"]
    done = f"{name}.script.done"
    rows = []
    for row in values.get("conditions") or []:
        rows += _transition(1, f' event="{done}" cond="{_a(row["cond"])}"{_target(style, row.get("target"))}', [])
    return [
        _marker(name),
        f'<state id="{name}">',
        "\t<onentry>",
        _inside_log("Branching", name, 2),
        *_self_send(done, 2),
        "\t</onentry>",
        *rows,
        *_transition(
            1, f' event="{done}" cond="_event.data.resolveid== _my_prefix"{_target(style, values.get("default"))}', []
        ),
        "</state>",
    ]


def build_webrequest(values: dict[str, Any], style: Style) -> list[str]:
    """Web request (HTTP Rest): `session:fetch`, the parsed response in the result variable."""
    name = values["name"]
    attrs = (
        f' requestid="App_{name}[\'requestid\']" srcexpr="{_a(values["url"])}" method="\'{values["method"]}\'"'
        f' enctype="\'{_a(values["enctype"])}\'" maxage="0" maxstale="0" type="\'application/json\'"'
        f' timeout="{int(values["timeout"])}"'
    )
    children = [f'\t\t\t<param name="{_a(p["name"])}" expr="{_a(p["expr"])}"/>' for p in values.get("parameters") or []]
    if values.get("body"):
        children.append(f'\t\t\t<content _expr="{_a(values["body"])}"/>')
    fetch = (
        [f"\t\t<session:fetch{attrs}>", *children, "\t\t</session:fetch>"]
        if children
        else [f"\t\t<session:fetch{attrs}/>"]
    )
    done_body = [
        *_store_event(name, style, 2),
        *_script(
            f"App_{name}['data'] = (typeof _event.data.content == 'string')"
            f" ? eval('(' + _event.data.content + ')') : _event.data.content;",
            2,
        ),
    ]
    if values.get("result"):
        done_body.append(f'\t\t<assign location="{_a(values["result"])}" expr="App_{name}[\'data\']"/>')
    return [
        _marker(name),
        f'<state id="{name}">',
        *_declare(name, style, 1),
        "\t<onentry>",
        _inside_log("HTTPRest", name, 2),
        *fetch,
        "\t</onentry>",
        *_transition(
            1, f' event="session.fetch.done" cond="{_guard(name)}"{_target(style, values.get("next"))}', done_body
        ),
        *_error_port(name, values.get("error"), style, 1),
        "</state>",
    ]


def _queue_target(row: dict[str, Any]) -> str:
    if row["type"] == "skill":
        return f'<queue:target skillexpr="{_a(row["name"])}"/>'
    return f'<queue:target name="{_a(row["name"])}" type="{row["type"]}"/>'


def build_target(values: dict[str, Any], style: Style) -> list[str]:
    """Target: `queue:submit` in `_reserved_<B>_submit`; with route=false the block redirects
    the call itself to the selected resource (`ixn:redirect`). Error and timeout ports lead to
    the fallback."""
    name = values["name"]
    route = bool(values.get("route", True))
    submit_attrs = (
        f' route="{"true" if route else "false"}" requestid="App_{name}[\'requestid\']"'
        f' interactionid="system.InteractionID" timeout="{int(values["timeout"])}" clearontimeout="true"'
    )
    if values.get("virtual_queue"):
        submit_attrs += f' queue="{_a(values["virtual_queue"])}"'
    if values.get("priority") is not None:
        submit_attrs += f' priority="{int(values["priority"])}"'
    targets = [f"\t\t\t\t\t{_queue_target(row)}" for row in values["targets"]]
    after = f"_reserved_{name}_fetch_deviation"
    lines = [
        _marker(name),
        f'<state id="{name}">',
        *_declare(name, style, 1),
        "\t<initial>",
        *_transition(2, _target(style, f"_reserved_{name}_submit"), [_inside_log("Target", name, 3)]),
        "\t</initial>",
        f'\t<state id="_reserved_{name}_submit">',
        "\t\t<onentry>",
        f"\t\t\t<queue:submit{submit_attrs}>",
        "\t\t\t\t<queue:targets>",
        *targets,
        "\t\t\t\t</queue:targets>",
        "\t\t\t</queue:submit>",
        "\t\t</onentry>",
        *_transition(
            2,
            f' event="queue.submit.requestid" cond="{_guard(name)}"',
            [f'\t\t\t<assign location="App_{name}[\'queue.submit.requestid\']" expr="_event.data.requestid"/>'],
        ),
        *_transition(
            2,
            f' event="queue.submit.done" cond="{_guard(name)}"{_target(style, after)}',
            [
                *_store_event(name, style, 3),
                f'\t\t\t<assign location="App_{name}[\'targetResource\']" expr="_event.data.resource"/>',
            ],
        ),
        "\t</state>",
        f'\t<state id="_reserved_{name}_fetch_deviation">',
        *_transition(2, _target(style, values.get("next") if route else f"_reserved_{name}_redirect"), []),
        "\t</state>",
    ]
    if not route:
        lines += [
            f'\t<state id="_reserved_{name}_redirect">',
            "\t\t<onentry>",
            f'\t\t\t<ixn:redirect requestid="App_{name}[\'requestid\']" interactionid="system.InteractionID"'
            f' to="App_{name}[\'targetResource\']" type="_genesys.queue.rType.RouteTypeDefault"/>',
            "\t\t</onentry>",
            *_transition(
                2,
                f' event="interaction.redirect.done" cond="{_guard(name)}"{_target(style, values.get("next"))}',
                [
                    f"\t\t\t<assign location=\"App_{name}['interaction.redirect.requestid']\""
                    ' expr="_event.data.requestid"/>'
                ],
            ),
            "\t</state>",
        ]
    fallback = values.get("error")
    lines += [
        *_error_port(name, fallback, style, 1, "error.queue.submit", _guard(name)),
        *_error_port(name, fallback, style, 1, "queue.cancel.done", _guard(name, "queue.submit.requestid")),
        "</state>",
    ]
    return lines


def build_redirect(values: dict[str, Any], style: Style) -> list[str]:
    """Route to a destination: `ixn:redirect` (the Route/Redirect step of a fallback)."""
    name = values["name"]
    return [
        _marker(name),
        f'<state id="{name}">',
        *_declare(name, style, 1),
        "\t<onentry>",
        _inside_log("Route", name, 2),
        f'\t\t<ixn:redirect requestid="App_{name}[\'requestid\']" interactionid="system.InteractionID"'
        f' to="{_a(values["to"])}" type="_genesys.queue.rType.RouteTypeDefault"/>',
        "\t</onentry>",
        *_transition(
            1,
            f' event="interaction.redirect.done" cond="{_guard(name)}"{_target(style, values.get("next"))}',
            _store_event(name, style, 2),
        ),
        *_error_port(name, values.get("error"), style, 1, "error.interaction.redirect", _guard(name)),
        "</state>",
    ]


def _dialog_block(
    values: dict[str, Any], style: Style, kind: str, action: str, action_lines: list[str], done: list[str]
) -> list[str]:
    """Play Application shape: the action in `_reserved_<B>_play`, done/error on its reply."""
    name = values["name"]
    return [
        _marker(name),
        f'<state id="{name}">',
        *_declare(name, style, 1),
        "\t<initial>",
        *_transition(2, _target(style, f"_reserved_{name}_play"), [_inside_log(kind, name, 3)]),
        "\t</initial>",
        f'\t<state id="_reserved_{name}_play">',
        "\t\t<onentry>",
        *action_lines,
        "\t\t</onentry>",
        *done,
        *_error_port(name, values.get("error"), style, 2, f"error.dialog.{action}", _guard(name)),
        "\t</state>",
        "</state>",
    ]


def _prompts(values: dict[str, Any]) -> list[str]:
    return [
        f'\t\t\t\t<dialog:prompts type="{values["prompt_type"]}">',
        f'\t\t\t\t\t<dialog:prompt text="{_a(values["prompt"])}"/>',
        "\t\t\t\t</dialog:prompts>",
    ]


def _dialog_attrs(name: str, values: dict[str, Any]) -> str:
    language = f' language="{_a(values["language"])}"' if values.get("language") else ""
    return f' interactionid="system.InteractionID" requestid="App_{name}[\'requestid\']"{language}'


def build_play_message(values: dict[str, Any], style: Style) -> list[str]:
    """Play message: `dialog:play` of one prompt."""
    name = values["name"]
    action = [f"\t\t\t<dialog:play{_dialog_attrs(name, values)}>", *_prompts(values), "\t\t\t</dialog:play>"]
    done = _transition(
        2,
        f' event="dialog.play.done" cond="{_guard(name)}"{_target(style, values.get("next"))}',
        _store_event(name, style, 3),
    )
    return _dialog_block(values, style, "PlayMessage", "play", action, done)


def build_play_application(values: dict[str, Any], style: Style) -> list[str]:
    """Play application: `dialog:start type='applid'` with APP_URI/LANGUAGE; waits for its end."""
    name = values["name"]
    params = [f'\t\t\t\t<param name="APP_URI" expr="{_a(values["application"])}"/>']
    if values.get("language"):
        params.append(f'\t\t\t\t<param name="LANGUAGE" expr="{_a(values["language"])}"/>')
    action = [
        f'\t\t\t<dialog:start type="\'applid\'" interactionid="system.InteractionID"'
        f" requestid=\"App_{name}['requestid']\">",
        *params,
        "\t\t\t</dialog:start>",
    ]
    keep = (
        [f'\t\t\t<assign location="{_a(values["result"])}" expr="_event.data.extensions"/>']
        if values.get("result")
        else []
    )
    done = _transition(
        2,
        f' event="dialog.start.done" cond="{_guard(name)}"{_target(style, values.get("next"))}',
        [*_store_event(name, style, 3), *keep],
    )
    return _dialog_block(values, style, "PlayApplication", "start", action, done)


def _collect(values: dict[str, Any], max_digits: int) -> list[str]:
    name = values["name"]
    return [
        f"\t\t\t<dialog:playandcollect{_dialog_attrs(name, values)}>",
        *_prompts(values),
        f'\t\t\t\t<dialog:input max_digits="{max_digits}"/>',
        "\t\t\t</dialog:playandcollect>",
    ]


def build_menu(values: dict[str, Any], style: Style) -> list[str]:
    """Menu: `dialog:playandcollect` of one digit; one transition per branch, then the default."""
    name = values["name"]
    keep = (
        [f'\t\t\t<assign location="{_a(values["result"])}" expr="_event.data.digits"/>'] if values.get("result") else []
    )
    done = []
    for row in values.get("branches") or []:
        cond = _a(f"_event.data.requestid==App_{name}['requestid'] && _event.data.digits == '{row['digit']}'")
        done += _transition(
            2,
            f' event="dialog.playandcollect.done" cond="{cond}"{_target(style, row.get("target"))}',
            [*_store_event(name, style, 3), *keep],
        )
    done += _transition(
        2,
        f' event="dialog.playandcollect.done" cond="{_guard(name)}"{_target(style, values.get("default"))}',
        [*_store_event(name, style, 3), *keep],
    )
    return _dialog_block(values, style, "Menu", "playandcollect", _collect(values, 1), done)


def build_user_input(values: dict[str, Any], style: Style) -> list[str]:
    """User input: `dialog:playandcollect` of up to `max_digits` digits into the result variable."""
    name = values["name"]
    keep = (
        [f'\t\t\t<assign location="{_a(values["result"])}" expr="_event.data.digits"/>'] if values.get("result") else []
    )
    done = _transition(
        2,
        f' event="dialog.playandcollect.done" cond="{_guard(name)}"{_target(style, values.get("next"))}',
        [*_store_event(name, style, 3), *keep],
    )
    return _dialog_block(
        values, style, "UserInput", "playandcollect", _collect(values, int(values["max_digits"])), done
    )


def build_user_data(values: dict[str, Any], style: Style) -> list[str]:
    """User data: `_genesys.ixn.setuData` of the changed pairs, then wait for
    `interaction.udata.changed` (or the timeout); nothing to change goes on at once."""
    name = values["name"]
    app = f"App_{name}"
    pairs = []
    for row in values.get("pairs") or []:
        key = row["key"].replace("\\", "\\\\").replace("'", "\\'")
        value = row["value"]
        pairs.append(
            f"if (udata['{key}'] != ({value}) && typeof ({value}) != 'undefined')"
            f" {{ data['{key}'] = ({value}); {app}['setudata'] = true; }}"
        )
    code = "\n".join(
        [
            f"{app}['setudata'] = false;",
            "var data = new Object();",
            "var udata = _genesys.ixn.interactions[system.InteractionID].udata;",
            *pairs,
            f"if ({app}['setudata']) {{ _genesys.ixn.setuData(data, system.InteractionID); }}",
        ]
    )
    nxt = values.get("next")
    nothing_to_do = f"(typeof {app}['setudata'] != 'undefined') && !{app}['setudata']"
    missing = (
        "typeof system.InteractionID == 'undefined'"
        " || typeof _genesys.ixn.interactions[system.InteractionID] == 'undefined'"
    )
    return [
        _marker(name),
        f'<state id="{name}">',
        *_declare(name, style, 1),
        "\t<initial>",
        *_transition(2, _target(style, f"_reserved_{name}_start"), [_inside_log("UserData", name, 3)]),
        "\t</initial>",
        f'\t<state id="_reserved_{name}_start">',
        "\t\t<onentry>",
        f'\t\t\t<if cond="{_a(missing)}">',
        '\t\t\t\t<raise event="error.com.genesyslab.composer.noudata">',
        '\t\t\t\t\t<param name="description" expr="\'no interaction to attach user data to\'"/>',
        "\t\t\t\t</raise>",
        "\t\t\t<else/>",
        f"\t\t\t\t<send event=\"'{name}.wait.timeout'\" idlocation=\"{app}['requestid']\""
        f" delay=\"'{int(values['timeout'])}s'\">",
        '\t\t\t\t\t<param name="resolveid" expr="_my_prefix"/>',
        "\t\t\t\t</send>",
        *_script(code, 4),
        "\t\t\t</if>",
        "\t\t</onentry>",
        *_transition(
            2, f' event="{name}.wait.timeout" cond="_event.data.resolveid == _my_prefix"{_target(style, nxt)}', []
        ),
        *_transition(
            2,
            f' event="interaction.udata.changed" cond="{_a(f"{app}[{chr(39)}setudata{chr(39)}] == true")}"'
            + _target(style, f"_reserved_{name}_outputTransition"),
            [f"\t\t\t<cancel sendid=\"{app}['requestid']\"/>", *_store_event(name, style, 3)],
        ),
        *_transition(
            2,
            f' cond="{_a(nothing_to_do)}"{_target(style, nxt)}',
            [],
        ),
        "\t</state>",
        f'\t<state id="_reserved_{name}_outputTransition">',
        *_transition(2, f' event="cancel.successful"{_target(style, nxt)}', []),
        *_transition(2, f' event="error.notallowed"{_target(style, nxt)}', []),
        "\t</state>",
        *_error_port(name, values.get("error"), style, 1, "error.com.genesyslab.composer.noudata"),
        "</state>",
    ]


def build_disconnect(values: dict[str, Any], style: Style) -> list[str]:
    """Disconnect: a final that terminates the interaction (does not wait for the result)."""
    name = values["name"]
    return [
        _marker(name),
        f'<final id="{name}">',
        "\t<onentry>",
        *(_script(f"var App_{name} = new Object();", 2) if style.declare else []),
        _inside_log("Disconnect", name, 2),
        f'\t\t<ixn:terminate requestid="App_{name}[\'requestid\']" interactionid="system.InteractionID"'
        " reason=\"'Disconnect interaction'\"/>",
        "\t</onentry>",
        "</final>",
    ]


def build_exit(values: dict[str, Any], style: Style) -> list[str]:
    """Exit: stop a multimedia interaction when asked to, then the workflow's final state."""
    name = values["name"]
    app = f"App_{name}"
    stop_cond = (
        "(typeof system.InteractionID != 'undefined')"
        " && (typeof _genesys.ixn.interactions[system.InteractionID] != 'undefined')"
        " && (typeof _genesys.ixn.interactions[system.InteractionID].voice == 'undefined')"
        " && (system.TerminateIxnOnExit == '1' || system.TerminateIxnOnExit == 1)"
    )
    guard = _guard(name)
    return [
        _marker(name),
        f'<state id="{name}">',
        "\t<onentry>",
        *(_script(f"var {app} = new Object();", 2) if style.declare else []),
        _inside_log("Exit", name, 2),
        "\t</onentry>",
        *_transition(1, f' cond="{_a(stop_cond)}"{_target(style, f"_reserved_{name}_stop_ixn")}', []),
        *_transition(1, _target(style, f"_reserved_{name}_final"), []),
        "</state>",
        f'<state id="_reserved_{name}_stop_ixn">',
        "\t<onentry>",
        f'\t\t<ixn:terminate requestid="{app}[\'requestid\']" interactionid="system.InteractionID"'
        " reason=\"'Auto-stop interaction'\"/>",
        "\t</onentry>",
        *_transition(
            1, f' event="interaction.terminate.done" cond="{guard}"{_target(style, f"_reserved_{name}_final")}', []
        ),
        *_transition(
            1, f' event="error.interaction.terminate" cond="{guard}"{_target(style, f"_reserved_{name}_final")}', []
        ),
        "</state>",
        f'<final id="_reserved_{name}_final">',
        "\t<onentry>",
        f"\t\t<log expr=\"_sessionid + ': Workflow ends in {name}'\"/>",
        "\t</onentry>",
        "</final>",
    ]


# -- declarations ----------------------------------------------------------------------------

_NAME = Param("name", "Name", "name", required=True, help="block name: the state id")
_NEXT = Param("next", "Next", "target", help="block the normal output leads to")
_ERROR = Param("error", "On error", "target", help="block the exception port leads to (none: the error goes up)")
_PROMPT = (
    Param("prompt", "Prompt", "expr", required=True, help="prompt text or URL (expression)"),
    Param("prompt_type", "Prompt type", "choice", default="ann", choices=("ann", "tts")),
    Param("language", "Language", "expr", help="e.g. 'English (US)'"),
)

BLOCKS: dict[str, BlockSpec] = {
    spec.kind: spec
    for spec in (
        BlockSpec(
            "entry",
            "Entry",
            "Start of the workflow: its variables; added to an empty document it also creates the workflow frame.",
            (
                _NAME,
                Param(
                    "variables",
                    "Variables",
                    "rows",
                    fields=(
                        Param("name", "Variable", "location", required=True),
                        Param("value", "Initial value", "expr", help="expression; empty = undefined"),
                    ),
                ),
                _NEXT,
            ),
            build_entry,
            example={"name": "Entry1", "variables": [{"name": "profile", "value": None}], "next": "GetProfile"},
            roles=lambda values: (),
        ),
        BlockSpec(
            "webrequest",
            "Web request",
            "HTTP request through session:fetch; the parsed JSON answer goes to the result variable.",
            (
                _NAME,
                Param("method", "Method", "choice", default="get", choices=("get", "post", "put", "delete")),
                Param("url", "URL", "expr", required=True, help="expression, e.g. 'http://host/api'"),
                Param("body", "Body", "expr", help="request body expression (JSON content)"),
                Param(
                    "enctype",
                    "Encoding",
                    "choice",
                    default="application/x-www-form-urlencoded",
                    choices=("application/x-www-form-urlencoded", "application/json"),
                ),
                Param(
                    "parameters",
                    "Parameters",
                    "rows",
                    fields=(
                        Param("name", "Name", "text", required=True),
                        Param("expr", "Value", "expr", required=True),
                    ),
                ),
                Param("timeout", "Timeout (s)", "int", default=10),
                Param("result", "Result variable", "location"),
                _NEXT,
                _ERROR,
            ),
            build_webrequest,
            example={
                "name": "GetProfile",
                "url": "'http://crm.example/profile'",
                "result": "profile",
                "next": "IsVip",
                "error": "Fallback",
            },
            namespaces=(("session", NS["session"]),),
        ),
        BlockSpec(
            "branching",
            "Branching",
            "Ordered conditions, each with its own output; the first that holds wins, else the default.",
            (
                _NAME,
                Param(
                    "conditions",
                    "Conditions",
                    "rows",
                    fields=(
                        Param("cond", "Condition", "expr", required=True),
                        Param("target", "Go to", "target"),
                    ),
                ),
                Param("default", "Default", "target", help="taken when no condition holds"),
            ),
            build_branching,
            example={
                "name": "IsVip",
                "conditions": [{"cond": "profile.vip == true", "target": "Fallback"}],
                "default": "ToSupport",
            },
        ),
        BlockSpec(
            "target",
            "Target",
            "Route to agents, groups, skills or queues with queue:submit; errors and timeout go to the fallback.",
            (
                _NAME,
                Param(
                    "targets",
                    "Targets",
                    "rows",
                    required=True,
                    fields=(
                        Param("type", "Type", "choice", default="agentgroup", choices=TARGET_TYPES),
                        Param(
                            "name",
                            "Name",
                            "expr",
                            required=True,
                            help="expression, e.g. 'Support' (skill: the skill expression)",
                        ),
                    ),
                ),
                Param("timeout", "Timeout (s)", "int", default=30),
                Param("virtual_queue", "Virtual queue", "expr"),
                Param("priority", "Priority", "int"),
                Param(
                    "route",
                    "Route",
                    "bool",
                    default=True,
                    help="false: the block redirects the call to the selected target itself",
                ),
                _NEXT,
                Param("error", "Fallback", "target", help="on error or timeout"),
            ),
            build_target,
            example={
                "name": "ToSupport",
                "targets": [{"type": "agentgroup", "name": "'Support'"}],
                "virtual_queue": "'VQ_Support'",
                "priority": 5,
                "next": "Exit1",
                "error": "Fallback",
            },
            namespaces=(("queue", NS["queue"]), ("ixn", NS["ixn"])),
            roles=lambda values: ("submit", "fetch_deviation") + (() if values.get("route", True) else ("redirect",)),
        ),
        BlockSpec(
            "redirect",
            "Route to destination",
            "Redirect the interaction to a DN or label with ixn:redirect.",
            (_NAME, Param("to", "Destination", "expr", required=True, help="expression, e.g. '5000'"), _NEXT, _ERROR),
            build_redirect,
            example={"name": "Fallback", "to": "'5000'", "next": "Exit1"},
            namespaces=(("ixn", NS["ixn"]),),
        ),
        BlockSpec(
            "play_message",
            "Play message",
            "Play a prompt with dialog:play.",
            (_NAME, *_PROMPT, _NEXT, _ERROR),
            build_play_message,
            example={"name": "Welcome", "prompt": "'Welcome'", "next": "Menu1"},
            namespaces=(("dialog", NS["dialog"]),),
            roles=lambda values: ("play",),
        ),
        BlockSpec(
            "play_application",
            "Play application",
            "Run a GVP voice application with dialog:start and wait for its end.",
            (
                _NAME,
                Param("application", "Application URI", "expr", required=True),
                Param("language", "Language", "expr"),
                Param("result", "Result variable", "location", help="receives the application's extensions"),
                _NEXT,
                _ERROR,
            ),
            build_play_application,
            example={
                "name": "Survey",
                "application": "'gvp:survey'",
                "language": "'English (US)'",
                "result": "answers",
                "next": "Exit1",
                "error": "Exit1",
            },
            namespaces=(("dialog", NS["dialog"]),),
            roles=lambda values: ("play",),
        ),
        BlockSpec(
            "menu",
            "Menu",
            "Play a prompt and collect one digit; one output per digit, and a default.",
            (
                _NAME,
                *_PROMPT,
                Param(
                    "branches",
                    "Branches",
                    "rows",
                    fields=(
                        Param("digit", "Digit", "choice", required=True, choices=tuple("0123456789*#")),
                        Param("target", "Go to", "target"),
                    ),
                ),
                Param("result", "Result variable", "location"),
                Param("default", "Default", "target"),
                _ERROR,
            ),
            build_menu,
            example={
                "name": "Menu1",
                "prompt": "'Press 1 for sales'",
                "branches": [{"digit": "1", "target": "ToSales"}],
                "default": "ToSupport",
            },
            namespaces=(("dialog", NS["dialog"]),),
            roles=lambda values: ("play",),
        ),
        BlockSpec(
            "user_input",
            "User input",
            "Play a prompt and collect digits into a variable.",
            (
                _NAME,
                *_PROMPT,
                Param("max_digits", "Digits", "int", default=4),
                Param("result", "Result variable", "location"),
                _NEXT,
                _ERROR,
            ),
            build_user_input,
            example={"name": "GetPin", "prompt": "'Your PIN'", "result": "pin", "next": "Check"},
            namespaces=(("dialog", NS["dialog"]),),
            roles=lambda values: ("play",),
        ),
        BlockSpec(
            "assign",
            "Assign",
            "Give variables the values of expressions.",
            (
                _NAME,
                Param(
                    "assignments",
                    "Assignments",
                    "rows",
                    fields=(
                        Param("variable", "Variable", "location", required=True),
                        Param("expr", "Value", "expr", required=True),
                    ),
                ),
                _NEXT,
                _ERROR,
            ),
            build_assign,
            example={
                "name": "SetSkill",
                "assignments": [{"variable": "skill", "expr": "'Loan > 1'"}],
                "next": "ToSupport",
            },
        ),
        BlockSpec(
            "ecmascript",
            "ECMAScript",
            "Run script code; throwing leaves through the error port.",
            (_NAME, Param("script", "Script", "script", required=True), _NEXT, _ERROR),
            build_ecmascript,
            example={
                "name": "Parse",
                "script": "segment = profile.vip ? 'gold' : 'std';",
                "next": "ToSupport",
                "error": "Fallback",
            },
        ),
        BlockSpec(
            "log",
            "Log",
            "Write a line to the session log.",
            (_NAME, Param("message", "Message", "expr", required=True), Param("level", "Level", "int"), _NEXT),
            build_log,
            example={"name": "LogIt", "message": "'segment ' + segment", "next": "ToSupport"},
        ),
        BlockSpec(
            "user_data",
            "User data",
            "Attach or update key/value pairs of the interaction's user data and wait for the platform.",
            (
                _NAME,
                Param(
                    "pairs",
                    "Pairs",
                    "rows",
                    fields=(Param("key", "Key", "text", required=True), Param("value", "Value", "expr", required=True)),
                ),
                Param("timeout", "Timeout (s)", "int", default=10),
                _NEXT,
                _ERROR,
            ),
            build_user_data,
            example={"name": "Tag", "pairs": [{"key": "segment", "value": "segment"}], "next": "ToSupport"},
            roles=lambda values: ("start", "outputTransition"),
        ),
        BlockSpec(
            "disconnect",
            "Disconnect",
            "Terminate the interaction and end the workflow.",
            (_NAME,),
            build_disconnect,
            example={"name": "Disconnect1"},
            namespaces=(("ixn", NS["ixn"]),),
        ),
        BlockSpec(
            "exit",
            "Exit",
            "End the workflow (stops a multimedia interaction when the application asks to).",
            (_NAME,),
            build_exit,
            example={"name": "Exit1"},
            namespaces=(("ixn", NS["ixn"]),),
            roles=lambda values: ("stop_ixn", "final"),
        ),
    )
}


def palette() -> list[dict[str, Any]]:
    """Every block's declaration, in palette order."""
    return [spec.to_json() for spec in BLOCKS.values()]


def _check(param: Param, value: Any, where: str) -> Any:
    if value is None or value == "":
        if param.required:
            raise BlockError(f"{where}: required")
        return param.default
    if param.type == "int":
        try:
            return int(value)
        except (TypeError, ValueError) as error:
            raise BlockError(f"{where}: a whole number") from error
    if param.type == "bool":
        if isinstance(value, str):
            return value.lower() in ("true", "1", "yes", "on")
        return bool(value)
    if param.type == "rows":
        if not isinstance(value, list) or len(value) > _MAX_ROWS:
            raise BlockError(f"{where}: a list of at most {_MAX_ROWS} rows")
        rows = []
        for number, row in enumerate(value):
            if not isinstance(row, dict):
                raise BlockError(f"{where}[{number}]: an object")
            rows.append({f.name: _check(f, row.get(f.name), f"{where}[{number}].{f.name}") for f in param.fields})
        if param.required and not rows:
            raise BlockError(f"{where}: at least one row")
        return rows
    if not isinstance(value, str | int | float):
        raise BlockError(f"{where}: a string")
    value = str(value)
    if len(value) > _MAX_VALUE:
        raise BlockError(f"{where}: at most {_MAX_VALUE} characters")
    if param.type == "choice" and value not in param.choices:
        raise BlockError(f"{where}: one of {', '.join(param.choices)}")
    if param.type in ("name", "target", "location") and not _identifier(value, dotted=param.type != "name"):
        raise BlockError(f"{where}: {value!r} is not a valid {'state id' if param.type != 'location' else 'variable'}")
    return value


def _identifier(value: str, dotted: bool) -> bool:
    pattern = r"^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$" if dotted else r"^[A-Za-z_][\w]*$"
    return re.match(pattern, value) is not None


def validate(spec: BlockSpec, params: dict[str, Any]) -> dict[str, Any]:
    """The block's values: defaults filled in, types checked; BlockError says what is wrong."""
    if not isinstance(params, dict):
        raise BlockError("block parameters are an object")
    unknown = set(params) - {p.name for p in spec.params}
    if unknown:
        raise BlockError(f"{spec.label}: unknown parameter(s) {', '.join(sorted(unknown))}")
    return {p.name: _check(p, params.get(p.name), p.name) for p in spec.params}


def state_ids(spec: BlockSpec, values: dict[str, Any], frame: bool = False) -> list[str]:
    """The state ids the block creates."""
    name = values["name"]
    ids = [name, *(f"_reserved_{name}_{role}" for role in spec.roles(values))]
    return ["_composer_start", "_composer_entry", "_composer_exit", *ids] if frame else ids


def target_ids(spec: BlockSpec, values: dict[str, Any]) -> list[str]:
    """The states the block's ports link to (they must exist)."""
    out = []
    for param in spec.params:
        if param.type == "target" and values.get(param.name):
            out.append(values[param.name])
        if param.type == "rows":
            for row in values.get(param.name) or []:
                out += [row[f.name] for f in param.fields if f.type == "target" and row.get(f.name)]
    return out


def generate(spec: BlockSpec, values: dict[str, Any], style: Style, prefixes: dict[str, str] | None = None) -> str:
    """The block's markup (tab-indented, LF); `prefixes` renames the extension prefixes to the
    ones the file declares (`{"ixn": "interaction"}`)."""
    markup = "\n".join(spec.build(values, style))
    for ours, theirs in (prefixes or {}).items():
        if ours != theirs:
            markup = markup.replace(f"<{ours}:", f"<{theirs}:").replace(f"</{ours}:", f"</{theirs}:")
    return markup


def new_document(name: str = "Strategy") -> str:
    """A new, empty ORS strategy file: the SCXML root with the Genesys namespaces declared."""
    declarations = "".join(f'\n\t\txmlns:{prefix}="{uri}"' for prefix, uri in NS.items())
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<scxml version="1.0" xmlns="http://www.w3.org/2005/07/scxml"{declarations}\n'
        f'\t\tprofile="ecmascript" name="{_a(name)}">\n'
        "</scxml>\n"
    )
