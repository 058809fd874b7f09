"""One module per bridge source; each registers itself with one line in monitoring_bridge.registry."""
