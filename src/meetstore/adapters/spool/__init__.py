"""The spool: where recorded files wait for upload."""
