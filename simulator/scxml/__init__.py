"""The SCXML engine: W3C SCXML 1.0 with an ECMAScript datamodel. No Django, no Genesys knowledge.

Dialects (such as ORS) adapt it only through the hooks in `profile.py`.
"""

from . import compiled

compiled.use_build()  # before any engine module is imported: never a stale mypyc build
