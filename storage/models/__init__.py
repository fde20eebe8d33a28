"""The ORM models, one module per area; importing the package loads none of them.

A command imports the model modules it uses (``storage.models.core`` alone for a file scan: the
other areas' classes cost start-up CPU for nothing). ``Base`` taken from here (``from
storage.models import Base``: migrations, the console's table list) loads every module first, so
its metadata is complete; :func:`load_all` does the same for code that holds ``storage.base.Base``.
No model has a relationship, so the mappers of a partial set configure on their own.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.base import Base

__all__ = ["Base", "load_all"]


def load_all() -> None:
    """Import every model module, so ``Base.metadata`` holds every table."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def __getattr__(name: str) -> Any:
    if name == "Base":
        from storage.base import Base

        load_all()
        return Base
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
