"""Alembic environment of the PostGIS store (data/store_pg.py runs it; no alembic.ini needed).

``storage.postgis.migrate(url)`` passes an open connection in ``config.attributes["connection"]``
holding an advisory lock, so two processes opening a new database never migrate it twice. To
write a new revision: ``.venv/bin/alembic -c storage/migrations/alembic.ini revision -m "..."``,
then edit it by hand (there is no autogenerate: the tables are defined here, in SQL).
"""
from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only for the alembic command line
    from sqlalchemy import create_engine

    from storage.postgis import engine_url

    connection = create_engine(engine_url(context.config.get_main_option("sqlalchemy.url"))).connect()

context.configure(connection=connection, target_metadata=None, transactional_ddl=True,
                  version_table="alembic_version")
with context.begin_transaction():
    context.run_migrations()
