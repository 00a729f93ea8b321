"""Where validated, geomasked records live: the store interface, the Parquet and PostGIS
backends, their migrations and the audit log's storage. Above ``core`` and ``geo`` only."""
