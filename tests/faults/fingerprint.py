"""What a fault run must end with: the same rows and the same objects as a run without faults.

`take_fingerprint()` reads every table of the apps (and the user accounts) and every object in
the bucket into plain values that do not depend on when or in which order things happened:

- surrogate keys are left out (a rolled-back transaction still uses up sequence values, and
  concurrent writers take them in any order); a foreign key is shown as the natural key of the
  row it points to (uuid, uscc, username, region code), or left out when that row has none;
- clock readings (created_at, received_at, computed_at …) are left out; only the times the
  phone sent (started_at, observed_at …) and the photo's own EXIF time are kept;
- values computed from surrogate ids (the counted-record fingerprint, audit hashes, record ids
  inside JSON) are left out; the audit log is compared as (actor, action, object type) rows
  and its chain is verified separately;
- objects are compared as key → SHA-256 of their bytes (except the harness's probes).

`reset_world()` empties the database and the bucket, so a workload can run twice in one test:
once without faults (the baseline) and once with them.
"""

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from django.apps import apps
from django.core.management import call_command
from django.db import models

from backend.storage import get_store

FINGERPRINTED_APPS = ("backend", "credit", "inspections")
EXTRA_MODELS = ("auth.User",)
# Tokens are random, heads and heartbeats are counters over everything that happened, and
# tender calls are request logs: none of them is state a workload's outcome is judged by.
SKIPPED_MODELS = frozenset(
    {
        "backend.ApiToken",
        "backend.TokenFamily",
        "backend.AuditHead",
        "backend.WorkerHeartbeat",
        "credit.TenderCall",
        "inspections.TaskFeedHead",
    }
)
# Times that come from the phone or the photo, identical in every run of a workload.
KEPT_TIMES = frozenset({"started_at", "finished_at", "observed_at", "captured_at"})
# Values derived from surrogate ids or from the moment of writing.
ID_DERIVED = frozenset(
    {
        "counted_fingerprint",
        "credit_record_id",
        "change_seq",
        "plan_id",
        "password",  # salted hash
        "hash",
        "prev_hash",
        "seq",
        "object_id",
        "payload",
        "records",  # snapshot entries list the counted records by id
    }
)
NATURAL_KEYS = ("uuid", "uscc", "username")
AUDIT_MODEL = "backend.AuditEntry"
AUDIT_FIELDS = ("actor", "action", "object_type")
# The harness proves a restarted store accepts writes with a probe object; a probe whose
# delete timed out is the harness's leftover, not the application's.
HARNESS_PREFIX = "harness/"


@dataclass(frozen=True)
class Fingerprint:
    rows: dict[str, list[tuple]]
    objects: dict[str, str]

    def without_tables(self, *labels: str) -> "Fingerprint":
        return Fingerprint(
            rows={k: v for k, v in self.rows.items() if k not in labels}, objects=self.objects
        )


def _label(model: type[models.Model]) -> str:
    return f"{model._meta.app_label}.{model.__name__}"


def fingerprinted_models() -> list[type[models.Model]]:
    chosen = [
        model
        for app in FINGERPRINTED_APPS
        for model in apps.get_app_config(app).get_models()
        if not model._meta.proxy and _label(model) not in SKIPPED_MODELS
    ]
    return chosen + [apps.get_model(label) for label in EXTRA_MODELS]


def _natural_path(model: type[models.Model]) -> str | None:
    """The lookup path from a row of `model` to a value that names it in every run."""
    names = {f.name for f in model._meta.concrete_fields}
    for name in NATURAL_KEYS:
        if name in names:
            return name
    pk = model._meta.pk
    if not pk.is_relation and not isinstance(pk, models.AutoField | models.UUIDField):
        return pk.name  # a meaningful primary key, such as a region code
    if pk.is_relation:
        inner = _natural_path(pk.related_model)
        return f"{pk.name}__{inner}" if inner else None
    if "user" in names:
        return "user__username"  # staff profiles are known by their account
    return None


def _lookups(model: type[models.Model]) -> list[str]:
    lookups = []
    for field in model._meta.concrete_fields:
        if field.name in ID_DERIVED:
            continue
        if isinstance(field, models.DateTimeField) and field.name not in KEPT_TIMES:
            continue
        if field.is_relation:
            target = _natural_path(field.related_model)
            if target:
                lookups.append(f"{field.name}__{target}")
            continue
        if field.primary_key and isinstance(field, models.AutoField | models.UUIDField):
            continue
        lookups.append(field.name)
    return lookups


def _plain(value):
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return value


def _rows(model: type[models.Model]) -> list[tuple]:
    fields = AUDIT_FIELDS if _label(model) == AUDIT_MODEL else _lookups(model)
    rows = [
        tuple((name, _plain(value)) for name, value in zip(fields, row, strict=True))
        for row in model.objects.values_list(*fields)
    ]
    return sorted(rows, key=repr)


def bucket_objects() -> dict[str, str]:
    store = get_store()
    objects = {}
    for key in store.list_keys():
        if key.startswith(HARNESS_PREFIX):
            continue
        digest = hashlib.sha256()
        reader = store.get(key)
        assert reader is not None, f"{key} was listed but cannot be read"
        with reader:
            for chunk in reader.iter_chunks():
                digest.update(chunk)
        objects[key] = digest.hexdigest()
    return objects


def take_fingerprint() -> Fingerprint:
    return Fingerprint(
        rows={_label(model): _rows(model) for model in fingerprinted_models()},
        objects=bucket_objects(),
    )


def differences(baseline: Fingerprint, after_fault: Fingerprint, *, shown: int = 5) -> list[str]:
    """Human-readable differences: per table, rows only in one run; per key, other bytes."""
    found = []
    for table in sorted(set(baseline.rows) | set(after_fault.rows)):
        before, after = baseline.rows.get(table, []), after_fault.rows.get(table, [])
        if before == after:
            continue
        missing = _multiset_minus(before, after)
        extra = _multiset_minus(after, before)
        found.append(
            f"{table}: {len(before)} rows without faults, {len(after)} with; "
            f"missing {missing[:shown]}; extra {extra[:shown]}"
        )
    for key in sorted(set(baseline.objects) | set(after_fault.objects)):
        if baseline.objects.get(key) != after_fault.objects.get(key):
            found.append(
                f"object {key}: {baseline.objects.get(key)} without faults, "
                f"{after_fault.objects.get(key)} with"
            )
    return found


def _multiset_minus(left: Iterable[tuple], right: Iterable[tuple]) -> list[tuple]:
    return sorted((Counter(left) - Counter(right)).elements(), key=repr)


def assert_same_end_state(baseline: Fingerprint, after_fault: Fingerprint) -> None:
    found = differences(baseline, after_fault)
    assert not found, "the fault run ended differently:\n" + "\n".join(found)


def reset_world() -> None:
    """An empty database (sequences restarted) and an empty bucket, as at the start of a test;
    also forgets what this process cached about snapshots, whose ids are reused after a flush."""
    from backend.celery import app
    from credit.selectors import clear_snapshot_caches

    call_command("flush", interactive=False, verbosity=0)
    store = get_store()
    for key in list(store.list_keys()):
        store.delete(key)
    app.control.purge()
    clear_snapshot_caches()
