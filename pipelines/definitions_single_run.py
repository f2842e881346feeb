"""The Definitions with the tick in one run for every target (no fan-out): for a small setup.

Load it instead of ``pipelines.definitions`` (``python_module: pipelines.definitions_single_run``
in workspace.yaml); everything else is the same.
"""

from __future__ import annotations

from pipelines.definitions import build_defs

__all__ = ["defs"]

defs = build_defs(fan_out=False)
