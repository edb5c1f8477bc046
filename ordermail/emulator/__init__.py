"""The embedded local runtime: the real ASL, handlers and templates on moto, offline.

See `runtime.LocalRuntime`; every change made to moto is a named seam (`seams/` lists them all).
"""

from .options import Faults, RuntimeOptions
from .runtime import LocalRuntime, SentMail, free_port

__all__ = ["Faults", "LocalRuntime", "RuntimeOptions", "SentMail", "free_port"]
