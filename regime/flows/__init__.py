"""Russell reconstitution flows (index flows, not orchestration): calendar and price impact.

NumPy/pandas maths; no PyMC. ``calendar`` gives rank and effective dates and is
the one home of their defaults (it imports nothing from the package);
``impact`` defines the flow spec (pydantic, on ``regime.config.Spec``) and turns
it into per-path monthly relative-return overlays.
"""
