"""Russell reconstitution flows (index flows, not orchestration): calendar and price impact.

Pure NumPy/pandas; no PyMC. ``calendar`` gives rank and effective dates,
``impact`` turns a flow spec into per-path monthly relative-return overlays.
"""
