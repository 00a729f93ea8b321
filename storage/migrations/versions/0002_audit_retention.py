"""Audit retention: the append-only trigger lets the retention purge delete old entries.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

``python -m safeguards.audit purge`` removes the oldest entries of ``audit_log`` and appends a
checkpoint entry recording the seq and hash of the last one removed, in one transaction
(``storage.pg_audit.PgAuditSink.purge``). The trigger of 0001 refused every DELETE; now a DELETE
passes only in a transaction that has set ``wy.audit_retention`` to ``purge`` (``SET LOCAL``).
UPDATE and TRUNCATE are still refused. The chain, not the trigger, is what shows tampering:
entries removed any other way fail ``verify``.
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' AND current_setting('wy.audit_retention', true) = 'purge' THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'the audit log is append-only (% refused)', TG_OP;
    END $$""")


def downgrade() -> None:
    op.execute("""
    CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the audit log is append-only (% refused)', TG_OP;
    END $$""")
