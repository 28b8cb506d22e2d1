"""Adapters: implementations of the domain's ports (database, S3, crypto, platform store)."""
