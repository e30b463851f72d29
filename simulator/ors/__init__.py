"""The Genesys ORS dialect of the SCXML engine, its extension modules and the fakes. No Django here.

* ``dialect.py`` - ``ORSProfile``: plugs into ``simulator.scxml`` through its profile hooks only.
* ``genesys.js`` - the ORS JS environment (toSource/uneval, __Log, __Raise, ..., ``_genesys``).
* ``extensions/`` - one declaration module per extension (format: ``extensions/base.py``).
* ``fakes.py`` - the fakes profile (schema, defaults, rule matching; ``docs/fakes.md``).
* ``platform.py`` - the simulated platform of one session: requests, interactions, injection.
* ``project.py`` / ``cli.py`` - Composer projects (folder/zip) and headless runs.
"""

from simulator.ors import compiled_modules
from simulator.scxml import compiled

# before any module of the layer is imported: never a stale mypyc build
compiled.use_build(compiled.Build(__name__, compiled_modules.MODULES, compiled_modules.AGAINST))
