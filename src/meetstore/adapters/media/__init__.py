"""Media probes (PyAV)."""
