"""S3: per-config client cache, validation, upload, presign, error mapping."""
