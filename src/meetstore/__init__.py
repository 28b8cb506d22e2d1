"""meetstore: the media-storage backend of a meeting-bot platform."""

__version__ = "0.1.0"
