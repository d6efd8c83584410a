"""Running it for real: processes, outages, serving, pooling, the replica, logs and metrics."""
