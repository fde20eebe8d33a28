"""All ORM models. Every module in this package is imported so ``Base.metadata`` is complete."""

from __future__ import annotations

import importlib
import pkgutil

from storage.base import Base

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Base"]
