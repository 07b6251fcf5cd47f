"""Monte Carlo verification of the registered closed forms (``collapse-theory verify``).

See ``README.md`` in this folder for the false-alarm budget and the Monte Carlo conventions.
"""
