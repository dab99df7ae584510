"""Monthly feature panel: pure transforms (``transforms``) and the builder (``panel``).

May import: numpy, pandas, ``regime.config``, ``regime.data.base``,
``regime.flows.calendar`` (reconstitution dates). Every
transform is causal (row t uses rows <= t only), so a panel built "as of" a
month equals one built from data truncated there.
"""

from regime.features.panel import Panel, PanelMeta, build_panel

__all__ = ["Panel", "PanelMeta", "build_panel"]
