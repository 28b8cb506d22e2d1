"""The platform store: where bots of accounts without custom storage write (local folder or S3)."""
