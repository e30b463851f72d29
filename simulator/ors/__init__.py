"""The Genesys ORS dialect of the SCXML engine, its extension modules and the fakes.

No Django here.  ``dialect.ORSProfile`` plugs into ``simulator.scxml`` through its profile hooks;
``extensions/`` declares every ``_genesys`` module; ``fakes.py`` is the fakes profile.
"""
