"""The paper broker: the in-memory twin of a live broker, for backtests and dress rehearsals."""

from mismarterad.integrations.paper.broker import PaperBroker

__all__ = ["PaperBroker"]
