"""billing tables."""

from piccolo.table import Table  # noqa: F401
