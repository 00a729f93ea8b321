"""Match a partner file's headers to the contract: forbidden, mapped, unknown and missing columns.

Order matters and is deliberate: forbidden columns are checked first, on the headers exactly as
the partner wrote them (before any ``--columns`` mapping renames them), so no option (mapping,
``--drop-unknown``) can let one through; and a mapping that names a forbidden header as its
source (``Contact no: person_ref``, ``D.O.B: reported_missing_at``) refuses the file, even if
this file lacks that column: such a mapping is a way to smuggle the field in under a new name.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from core.errors import ConfigError, ForbiddenFieldError, Problem, SchemaError
from core.schema import LOCATION_FORMS, allowed_columns, feed_fields
from data.forbidden import forbidden_category, normalise_column_name


def load_column_mapping(path: str | Path) -> dict[str, str]:
    """Read a column-mapping YAML file: ``source header: contract field``, one per line."""
    try:
        mapping = yaml.safe_load(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"column mapping {path}: cannot be read: {exc}") from exc
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                for k, v in mapping.items()):
        raise ConfigError(f"column mapping {path}: expected lines of the form "
                          "'Source header: contract_field'")
    return mapping


def resolve_columns(path, headers: list[str], feed: str, *, mapping: dict[str, str] | None = None,
                    drop_unknown: bool = False) -> tuple[dict[str, str], list[str]]:
    """Decide which contract field each header is.

    Returns
    -------
    rename : dict
        Original header → contract field, for the headers kept.
    dropped : list of str
        Headers dropped because they are not in the contract (only with ``drop_unknown``).

    Raises
    ------
    ForbiddenFieldError
        Any header denotes data the system must never hold (always, whatever the options).
    SchemaError
        Unknown headers (without ``drop_unknown``), duplicates, or required fields missing.
    """
    forbidden = [Problem(None, h, None, f"denotes {forbidden_category(h)}")
                 for h in headers if forbidden_category(h)]
    present = {normalise_column_name(h) for h in headers}  # each forbidden header named once
    forbidden += [Problem(None, source, None,
                          f"the column mapping maps this header, which denotes "
                          f"{forbidden_category(source)}, to {field!r}: a mapping may not rename "
                          "a forbidden field into the contract; remove that line and the column")
                  for source, field in (mapping or {}).items()
                  if forbidden_category(source) and normalise_column_name(source) not in present]
    if forbidden:
        raise ForbiddenFieldError(path, forbidden)
    allowed = allowed_columns(feed)
    targets = _normalised_mapping(mapping or {}, allowed)
    rename, unknown, problems = {}, [], []
    for header in headers:
        key = normalise_column_name(header)
        field = targets.get(key, key)
        if field not in allowed:
            unknown.append(header)
        elif field in rename.values():
            problems.append(Problem(None, header, None, f"is a second column for field {field!r}"))
        else:
            rename[header] = field
    if not rename:
        problems.append(Problem(None, None, None, "no column name is a contract field: the header "
                                "must be the first row (delete any title rows above it), or this "
                                f"is not a file for the {feed} feed"))
    if unknown and not drop_unknown:
        problems.append(Problem(None, ", ".join(repr(u) for u in unknown), None,
                                "not in the data contract, so refused (data minimisation). Allowed "
                                f"columns for {feed}: {', '.join(allowed)}. Map differently named "
                                "columns with --columns mapping.yaml, or pass --drop-unknown to "
                                "drop the others"))
    present = set(rename.values())
    missing = [f.name for f in feed_fields(feed) if f.name not in present]
    if missing:
        problems.append(Problem(None, ", ".join(missing), None, "required column(s) missing"))
    if not any(set(form) <= present for form in LOCATION_FORMS):
        problems.append(Problem(None, None, None, "no location columns: give longitude and latitude, "
                                "easting and northing, or lsoa_code"))
    if problems:
        raise SchemaError(path, problems)
    return rename, unknown


def _normalised_mapping(mapping: dict[str, str], allowed: list[str]) -> dict[str, str]:
    targets = {}
    for source, field in mapping.items():
        if forbidden_category(field):
            raise ConfigError(f"column mapping: {source!r} → {field!r}: that field is forbidden")
        if field not in allowed:
            raise ConfigError(f"column mapping: {source!r} → {field!r}: {field!r} is not a contract "
                              f"field; allowed: {', '.join(allowed)}")
        targets[normalise_column_name(source)] = field
    return targets
