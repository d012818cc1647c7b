"""Storage: the schema, the engine, migrations and the queries that read events."""
