"""The ORS object model changes only as a result of events (spec ors-interaction-dialog.md 1.1):
``_genesys.ixn.interactions`` shows a change when the session processes the event reporting it,
not when the platform queues that event."""

from __future__ import annotations

from .strategies import block_strategy, run, value

SEEN = "(typeof _genesys.ixn.interactions[system.InteractionID] == 'undefined' ? 'gone' : 'here')"


def seen(event: str, cond: str = "") -> str:
    """A targetless transition noting, on `event`, whether the interaction is in the object model."""
    guard = f' cond="{cond}"' if cond else ""
    return f'<transition event="{event}"{guard}><script>out.seen.push("{event}:" + {SEEN});</script></transition>'


def test_a_new_session_has_no_interaction_until_interaction_added_is_processed():
    doc = block_strategy(
        '<onentry><script>out.seen.push("block:" + ' + SEEN + ');</script></onentry><transition target="ok"/>',
        on_entry_script="out.seen = [Object.keys(_genesys.ixn.interactions).length];",
    )
    r = run(doc)
    assert value(r, "out.seen") == [0, "block:here"]


def test_after_a_redirect_with_detach_the_done_handler_still_sees_the_call_and_deleted_removes_it():
    doc = block_strategy(
        """
    <onentry>
      <script>out.seen = [];</script>
      <ixn:redirect requestid="App_B['requestid']" interactionid="system.InteractionID" to="'7001'" detach="true"/>
    </onentry>
    """
        + seen("interaction.redirect.done")
        + seen("interaction.deleted")
        + '<transition event="interaction.deleted" target="ok"/>'
    )
    r = run(doc)
    assert value(r, "out.seen") == ["interaction.redirect.done:here", "interaction.deleted:gone"]
    assert r.summary()["outcome"]["status"] == "routed"


def test_after_a_detach_the_interaction_stays_for_the_redirect_that_follows():
    doc = block_strategy(
        """
    <onentry>
      <script>out.seen = [];</script>
      <ixn:detach requestid="App_B['requestid']" interactionid="system.InteractionID"/>
    </onentry>
    """
        + seen("interaction.detach.done")
        + '<transition event="interaction.detach.done" target="ok"/>'
    )
    r = run(doc)
    assert value(r, "out.seen") == ["interaction.detach.done:here"]


def test_after_a_hang_up_the_failed_dialog_handler_still_sees_the_call_and_deleted_removes_it():
    doc = block_strategy(
        """
    <onentry>
      <script>out.seen = [];</script>
      <dialog:start requestid="App_B['requestid']" interactionid="system.InteractionID" type="'applid'">
        <param name="APP_URI" expr="'http://gvp.example/app.vxml'"/>
      </dialog:start>
    </onentry>
    """
        + seen("error.dialog.start")
        + seen("interaction.deleted")
        + '<transition event="interaction.deleted" target="ok"/>'
    )
    r = run(doc, {"inject": [{"event": "hangup", "on": {"module": "dialog", "action": "start"}, "after": 0.5}]})
    assert value(r, "out.seen") == ["error.dialog.start:here", "interaction.deleted:gone"]


def test_attached_data_an_ivr_returns_shows_when_its_event_is_processed():
    doc = block_strategy(
        """
    <onentry>
      <script>out.seen = [];</script>
      <dialog:start requestid="App_B['requestid']" interactionid="system.InteractionID" type="'applid'">
        <param name="APP_URI" expr="'http://gvp.example/app.vxml'"/>
      </dialog:start>
    </onentry>
    <transition event="interaction.udata.changed">
      <script>out.seen.push(_genesys.ixn.interactions[system.InteractionID].udata.menu);</script>
    </transition>
    <transition event="dialog.start.done" target="ok"/>
    """,
        on_entry_script="out.before = [];",
    )
    r = run(doc, {"dialog": {"udata": {"menu": "2"}}})
    assert value(r, "out.seen") == ["2"]
