"""Put on a child's PYTHONPATH by `herald_dev.network_guard.guarded_children`: blocks the
network in this process, then runs the `sitecustomize` this one hides, if there is one."""

import importlib.machinery
import importlib.util
import os
import sys

if os.environ.get("HERALD_NETWORK_GUARD_LOG"):
    from herald_dev.network_guard import block_this_child

    block_this_child(os.environ["HERALD_NETWORK_GUARD_LOG"])

_here = os.path.dirname(os.path.abspath(__file__))
_hidden = importlib.machinery.PathFinder.find_spec(
    "sitecustomize", [p for p in sys.path if os.path.abspath(p or ".") != _here]
)
if _hidden is not None and _hidden.loader is not None:
    _module = importlib.util.module_from_spec(_hidden)
    _hidden.loader.exec_module(_module)
