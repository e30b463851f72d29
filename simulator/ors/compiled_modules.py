"""The ORS layer's modules compiled by mypyc: those on an interaction's path, chosen by profile
(docs/performance.md, "orsmypyc"), in a library of their own (dotted names below simulator.ors).
fakes.py stays interpreted (its profile reads sections through `__getattr__` and `__dict__`).

Data only, no imports: scripts/build_engine.py reads it by path without importing the layer, and
the package's ``__init__`` hands it to the build guard (simulator/scxml/compiled.py).
"""

MODULES = (
    "childsessions",
    "dialect",
    "engine",
    "evaluation",
    "jsbridge",
    "objectmodel",
    "outcome",
    "platform",
    "requestbook",
    "extensions.base",
    "extensions.classification",
    "extensions.dialog",
    "extensions.elasticconnector",
    "extensions.interaction",
    "extensions.queue",
    "extensions.resource",
    "extensions.session",
    "extensions.statistic",
    "extensions.web",
)
#: the packages whose types these modules are compiled against: a change there makes the build stale
AGAINST = ("simulator.scxml",)
