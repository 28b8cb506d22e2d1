"""Named queries over the tables, one module per aggregate. Services call these; they write no SQL."""
