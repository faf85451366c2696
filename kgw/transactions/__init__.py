"""The transaction coordinator and the markers it writes."""

from .coordinator import TransactionCoordinator, TransactionError
from .markers import MarkerWriter

__all__ = ["MarkerWriter", "TransactionCoordinator", "TransactionError"]
