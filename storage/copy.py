"""Copy a whole store into a new, empty one (any backend to any backend), checked."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

from core.errors import StoreError
from core.schema import FEEDS
from storage.audit_log import LOG_FILE, FileAuditSink
from storage.base import DOCUMENTS, Store, fsync_file
from storage.open import audit_sink, open_store


@dataclass(frozen=True)
class CopyReport:
    batches: int
    records: dict[str, int]
    checksums: dict[str, str]
    audit_entries: int
    documents: list[str]

    def __str__(self) -> str:
        lines = [f"copied {self.batches} batch(es), {self.audit_entries} audit entries, "
                 f"documents: {', '.join(self.documents) or 'none'}"]
        lines += [f"  {feed:<10} {n:>10,} records  sha256 {self.checksums[feed][:16]}…  identical"
                  for feed, n in self.records.items()]
        return "\n".join(lines)


def copy_store(source: str | Store, target: str | Store) -> CopyReport:
    """Copy every batch, side document and the audit log from ``source`` into an empty ``target``.

    Batches keep their ids, sources, file names and times; audit entries are copied as stored, so
    the hash chain (and any head kept outside) still verifies. Afterwards the record counts and
    checksums of every feed, the batch lists and the audit chains of both stores are compared;
    ``StoreError`` if anything differs. Into a database (a target with ``import_store``) the
    whole copy is one transaction, so a copy that fails part way leaves the target empty.
    """
    src = source if isinstance(source, Store) else open_store(source)
    dst = target if isinstance(target, Store) else open_store(target)
    src_sink, dst_sink = audit_sink(src), audit_sink(dst)
    if dst.batches() or dst_sink.last() is not None:
        raise StoreError(f"target store {dst.url} is not empty: copy only into a new store "
                         "(a new folder, or a new empty database)")
    texts = {name: text for name in DOCUMENTS
             if (text := src.read_document(name)) is not None}
    documents = list(texts)
    lines, head = list(src_sink.read()), src_sink.head()
    batches = ((batch, src.batch_frame(batch)) for batch in src.batches())
    if hasattr(dst, "import_store"):
        # A database target takes the whole copy in one transaction: a failure part way leaves
        # it empty, and the copy can simply be run again.
        dst.import_store(batches, texts, lines, head)
    else:
        for batch, frame in batches:
            dst.import_batch(batch, frame)
        for name, text in texts.items():
            dst.write_document(name, text)
        _import_audit(dst_sink, lines, head)

    records, checksums = {}, {}
    for feed in FEEDS:
        before, after = src.checksum(feed), dst.checksum(feed)
        if before != after:
            raise StoreError(f"copy check failed for {feed}: source {before[0]} records "
                             f"({before[1][:12]}), target {after[0]} ({after[1][:12]})")
        records[feed], checksums[feed] = before
    keys = ("id", "feed", "rows", "source", "file_name", "ingested_at")
    if [{k: b[k] for k in keys} for b in src.batches()] != \
            [{k: b[k] for k in keys} for b in dst.batches()]:
        raise StoreError("copy check failed: the batch lists differ")
    ends = [(h or {}).get("seq") and (h["seq"], h["hash"]) for h in (head, dst_sink.head())]
    if list(dst_sink.read()) != lines or ends[0] != ends[1]:
        raise StoreError("copy check failed: the audit logs differ")
    for name in documents:
        if dst.read_document(name) != src.read_document(name):
            raise StoreError(f"copy check failed: document {name} differs")
    return CopyReport(len(src.batches()), records, checksums, len(lines), documents)


def _import_audit(sink, lines: list[str], head: dict | None) -> None:
    if not lines and head is None:
        return
    if hasattr(sink, "import_entries"):
        sink.import_entries(lines, head)
        return
    if not isinstance(sink, FileAuditSink):
        raise StoreError(f"cannot copy an audit log into {sink!r}")
    with sink.writing():
        sink.root.mkdir(parents=True, exist_ok=True)
        tmp = sink.root / f".{LOG_FILE}.tmp"
        tmp.write_bytes("".join(line + "\n" for line in lines).encode("utf-8"))
        fsync_file(tmp)
        os.replace(tmp, sink.log_path)
        if head is not None:
            sink.head_path.write_text(json.dumps(head), encoding="utf-8")

