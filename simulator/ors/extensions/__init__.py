"""Registry of the ORS extension modules (one declaration module per extension).

Each module file defines ``MODULE`` (a :class:`~simulator.ors.extensions.base.Module`); the
registry below imports all of them explicitly so a missing or broken module fails loudly at import.
Format and fake contract: ``base.py``.
"""

from __future__ import annotations

from . import classification, dialog, elasticconnector, interaction, queue, resource, session, statistic, web
from .base import Module

#: every declared module, in a stable order
MODULES: tuple[Module, ...] = (
    session.MODULE,
    queue.MODULE,
    interaction.MODULE,
    dialog.MODULE,
    web.MODULE,
    statistic.MODULE,
    classification.MODULE,
    resource.MODULE,
    elasticconnector.MODULE,
)

#: namespace URI (every accepted spelling) -> module
BY_NAMESPACE: dict[str, Module] = {ns: m for m in MODULES for ns in m.namespaces}
#: short name (``queue``, ``interaction``, ``ws``...) -> module
BY_NAME: dict[str, Module] = {m.name: m for m in MODULES}


def module_for_namespace(namespace: str | None) -> Module | None:
    """The module selected by an XML namespace URI (with or without ``http://``), if any."""
    return BY_NAMESPACE.get(namespace or "")
