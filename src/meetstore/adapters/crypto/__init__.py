"""Envelope encryption: AES-GCM data keys wrapped by a master key (local keyring or AWS KMS)."""
