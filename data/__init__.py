"""The partner file's way in: the data contract (forbidden fields, column mapping), readers,
parsing, locations, ingestion and the synthetic generator. Writes through ``storage``."""
