"""The registry of bridge adapters, keyed by source name: adding a source is one module and one line here."""

from __future__ import annotations

from monitoring_bridge.adapter import SourceAdapter
from monitoring_bridge.adapters.cheongbaek import CheongbaekAdapter
from monitoring_bridge.adapters.idea import IdeaAdapter
from monitoring_bridge.adapters.personnel import PersonnelAdapter
from monitoring_bridge.adapters.supporter import SupporterAdapter
from monitoring_bridge.adapters.training import TrainingAdapter
from monitoring_bridge.errors import UnknownSource

ADAPTERS: dict[str, SourceAdapter] = {}
ADAPTERS["cheongbaek"] = CheongbaekAdapter()
ADAPTERS["personnel"] = PersonnelAdapter()
ADAPTERS["training"] = TrainingAdapter()
ADAPTERS["supporter"] = SupporterAdapter()
ADAPTERS["idea"] = IdeaAdapter()


def get(name: str) -> SourceAdapter:
    """The adapter registered under ``name``, or :class:`UnknownSource`."""
    try:
        return ADAPTERS[name]
    except KeyError:
        raise UnknownSource(name) from None
