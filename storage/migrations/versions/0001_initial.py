"""The initial PostGIS store: batches, one events table per feed, audit log, documents.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Each events table holds the feed's contract fields plus the common columns of
``storage.base.COMMON_COLUMNS`` (geomasked cell centres only: never a raw point), the batch the row
came in, and ``geom``: the cell centre as a PostGIS point in British National Grid (EPSG:27700),
generated from easting/northing and indexed with GiST. ``record_id`` is the primary key, so a
record can never be stored twice, however many processes ingest at once.

The audit log is append-only: a trigger refuses UPDATE, DELETE and TRUNCATE (the hash chain
would catch them anyway; the trigger stops them happening by mistake).
"""
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

COMMON = """
    event_date timestamp NOT NULL,
    lsoa_code text,
    ward_code text,
    district_code text,
    has_point boolean,
    easting integer,
    northing integer,
    longitude double precision,
    latitude double precision,
    geomask_m smallint,
    content_hash text NOT NULL,
    batch_id text NOT NULL REFERENCES batches (id),
    geom geometry(Point, 27700) GENERATED ALWAYS AS
        (ST_SetSRID(ST_MakePoint(easting, northing), 27700)) STORED
"""
FEEDS = {
    "nrm": """
    record_id text PRIMARY KEY,
    referral_date timestamp,
    exploitation_type text,
    age_group text,
    gender text,
    first_responder text,""",
    "rosewood": """
    record_id text PRIMARY KEY,
    person_ref text,
    reported_missing_at timestamp,
    found_at timestamp,
    age_group text,
    risk_level text,""",
    "mandevilla": """
    record_id text PRIMARY KEY,
    flag_date timestamp,
    age_group text,
    indicators text,
    referred_to_police boolean,""",
}


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("""
    CREATE TABLE batches (
        pos bigserial UNIQUE,
        id text PRIMARY KEY,
        feed text NOT NULL CHECK (feed IN ('nrm', 'rosewood', 'mandevilla')),
        rows integer NOT NULL CHECK (rows >= 0),
        source text NOT NULL CHECK (source IN ('synthetic', 'real')),
        file_name text NOT NULL,
        ingested_at timestamptz NOT NULL
    )""")
    for feed, fields in FEEDS.items():
        table = f"events_{feed}"
        op.execute(f"CREATE TABLE {table} ({fields}{COMMON})")
        op.execute(f"CREATE INDEX {table}_date ON {table} (event_date)")
        op.execute(f"CREATE INDEX {table}_district ON {table} (district_code, event_date)")
        op.execute(f"CREATE INDEX {table}_ward ON {table} (ward_code)")
        op.execute(f"CREATE INDEX {table}_batch ON {table} (batch_id)")
        op.execute(f"CREATE INDEX {table}_geom ON {table} USING gist (geom)")
    op.execute("""
    CREATE TABLE audit_log (
        pos bigserial PRIMARY KEY,
        seq bigint NOT NULL,
        entry text NOT NULL
    )""")
    op.execute("""
    CREATE TABLE audit_head (
        id smallint PRIMARY KEY CHECK (id = 1),
        seq bigint NOT NULL,
        hash text NOT NULL,
        created text NOT NULL
    )""")
    op.execute("""
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the audit log is append-only (% refused)', TG_OP;
    END $$""")
    op.execute("""CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
                  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""")
    op.execute("""CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
                  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""")
    op.execute("""
    CREATE TABLE documents (
        name text PRIMARY KEY,
        body text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
    )""")


def downgrade() -> None:
    for name in ("documents", "audit_head", "audit_log", *(f"events_{f}" for f in FEEDS),
                 "batches"):
        op.execute(f"DROP TABLE IF EXISTS {name}")
    op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
