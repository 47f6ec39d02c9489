"""The evidence store's tables (SQLAlchemy Core), shared by SQLite and PostgreSQL.

The counters are kept per minute: the column named `hour` holds the start of a minute (`evidence.minute_bucket`);
it kept its first name so that stores written by earlier versions need no migration.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

__all__ = ["HOURLY", "metadata", "utc"]


def utc(value: datetime) -> datetime:
    """An aware UTC datetime; naive values are taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Datetimes stored as UTC and always read back aware (SQLite keeps no offset)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else utc(value)


metadata = sa.MetaData()
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Count = sa.BigInteger

state = sa.Table(
    "turnout_migration_state",
    metadata,
    sa.Column("name", sa.String, primary_key=True),
    sa.Column("stage", sa.String(32), nullable=False),
    sa.Column("percent", sa.Float, nullable=False),
    sa.Column("changed_at", UTCDateTime),
    sa.Column("changed_by", sa.Text),
    sa.Column("reason", sa.Text),
)

# what each gateway instance runs: per migration the stage and percent it picked up, and when
instances = sa.Table(
    "turnout_instances",
    metadata,
    sa.Column("instance", sa.String, primary_key=True),
    sa.Column("seen_at", UTCDateTime, nullable=False),
    sa.Column("stages", sa.JSON, nullable=False),
    sa.Index("ix_turnout_instances_seen_at", "seen_at"),
)

stage_log = sa.Table(
    "turnout_stage_log",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("from_stage", sa.String(32), nullable=False),
    sa.Column("to_stage", sa.String(32), nullable=False),
    sa.Column("percent", sa.Float, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("by", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("forced", sa.Boolean, nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Index("ix_turnout_stage_log_name_id", "name", "id"),
)

comparisons = sa.Table(
    "turnout_comparisons",
    metadata,
    sa.Column("migration", sa.String, primary_key=True),
    sa.Column("operation", sa.String, primary_key=True),
    sa.Column("hour", UTCDateTime, primary_key=True),
    sa.Column("outcome", sa.String(16), primary_key=True),
    sa.Column("count", Count, nullable=False),
    sa.Index("ix_turnout_comparisons_hour", "hour"),
)

latency = sa.Table(
    "turnout_latency",
    metadata,
    sa.Column("migration", sa.String, primary_key=True),
    sa.Column("side", sa.String(8), primary_key=True),
    sa.Column("hour", UTCDateTime, primary_key=True),
    sa.Column("bucket", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("count", Count, nullable=False),
    sa.Index("ix_turnout_latency_hour", "hour"),
)

fallbacks = sa.Table(
    "turnout_fallbacks",
    metadata,
    sa.Column("migration", sa.String, primary_key=True),
    sa.Column("operation", sa.String, primary_key=True),
    sa.Column("hour", UTCDateTime, primary_key=True),
    sa.Column("count", Count, nullable=False),
    sa.Column("last_at", UTCDateTime, nullable=False),
    sa.Index("ix_turnout_fallbacks_hour", "hour"),
)

# per migrating coordinate: requests whose fetch of it failed on the new side and was answered by the old one
fallback_fields = sa.Table(
    "turnout_fallback_fields",
    metadata,
    sa.Column("migration", sa.String, primary_key=True),
    sa.Column("coordinate", sa.String, primary_key=True),
    sa.Column("hour", UTCDateTime, primary_key=True),
    sa.Column("count", Count, nullable=False),
    sa.Index("ix_turnout_fallback_fields_hour", "hour"),
)

shadow_drops = sa.Table(
    "turnout_shadow_drops",
    metadata,
    sa.Column("migration", sa.String, primary_key=True),
    sa.Column("hour", UTCDateTime, primary_key=True),
    sa.Column("count", Count, nullable=False),
    sa.Index("ix_turnout_shadow_drops_hour", "hour"),
)

diff_groups = sa.Table(
    "turnout_diff_groups",
    metadata,
    sa.Column("signature", sa.String(64), primary_key=True),
    sa.Column("migration", sa.String, nullable=False),
    sa.Column("coordinate", sa.String, nullable=False),
    sa.Column("operation", sa.String, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("noise", sa.Boolean, nullable=False),
    sa.Column("count", Count, nullable=False),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
    sa.Column("acknowledged_until", UTCDateTime),
    sa.Column("acknowledged_by", sa.Text),
    sa.Column("acknowledged_reason", sa.Text),
    sa.Index("ix_turnout_diff_groups_migration", "migration"),
)

diff_samples = sa.Table(
    "turnout_diff_samples",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column(
        "signature",
        sa.String(64),
        sa.ForeignKey("turnout_diff_groups.signature", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("hour", UTCDateTime, nullable=False),  # hour bucket of `at`: samples are bounded per hour
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("primary", sa.Text, nullable=False),
    sa.Column("candidate", sa.Text, nullable=False),
    sa.Column("primary_hash", sa.String(64), nullable=False),
    sa.Column("candidate_hash", sa.String(64), nullable=False),
    sa.Index("ix_turnout_diff_samples_signature_hour", "signature", "hour"),
    sa.Index("ix_turnout_diff_samples_at", "at"),
)

# per migrating coordinate and operation: comparisons that reached it, values of it compared, values that differed
coverage = sa.Table(
    "turnout_coverage",
    metadata,
    sa.Column("migration", sa.String, primary_key=True),
    sa.Column("coordinate", sa.String, primary_key=True),
    sa.Column("operation", sa.String, primary_key=True),
    sa.Column("hour", UTCDateTime, primary_key=True),
    sa.Column("comparisons", Count, nullable=False),
    sa.Column("values", Count, nullable=False),
    sa.Column("differing", Count, nullable=False),
    sa.Index("ix_turnout_coverage_hour", "hour"),
)

# per migrating coordinate: values the old side was compared with itself on, and how many differed (noise runs)
noise = sa.Table(
    "turnout_noise",
    metadata,
    sa.Column("migration", sa.String, primary_key=True),
    sa.Column("coordinate", sa.String, primary_key=True),
    sa.Column("hour", UTCDateTime, primary_key=True),
    sa.Column("values", Count, nullable=False),
    sa.Column("differing", Count, nullable=False),
    sa.Index("ix_turnout_noise_hour", "hour"),
)

HOURLY = (comparisons, latency, fallbacks, fallback_fields, shadow_drops, coverage, noise)
