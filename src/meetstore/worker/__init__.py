"""Background workers (lease loops) that run in-process under `make run` or as `meetstore worker`."""
