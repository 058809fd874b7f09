"""The monitoring bridge: brings Cheongbaek-e alerts and other integrity records in as linked cases.

One adapter per source behind :class:`monitoring_bridge.adapter.SourceAdapter`,
found through :mod:`monitoring_bridge.registry`; decoding, idempotency,
quarantine and resumable batches live in :mod:`monitoring_bridge.importer`.
"""
