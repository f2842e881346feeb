"""Parquet storage: explicit schemas, the partition layout and atomic per-tick writes."""
