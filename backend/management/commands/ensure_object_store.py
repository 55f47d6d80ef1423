"""Deploy step before gunicorn starts: make sure the bucket exists and the store answers.

Idempotent: an existing bucket is only checked. Exits non-zero (CommandError) when the store is
unreachable or refuses the credentials, so a deploy stops instead of starting a web that
cannot store photos.
"""

from django.core.management.base import BaseCommand, CommandError

from backend import storage


class Command(BaseCommand):
    help = "创建对象存储桶（如不存在）并检查连通 / Create the object store bucket if missing."

    def handle(self, *args, **options):
        store = storage.get_store()
        try:
            existed = _bucket_exists(store)
            if not existed:
                store.ensure_bucket()
            store.check()
        except storage.StorageError as exc:
            raise CommandError(f"对象存储不可用 object store not ready: {exc}") from exc
        action = "bucket already existed" if existed else "bucket created"
        self.stdout.write(self.style.SUCCESS(f"{store!r}: {action}, store reachable"))


def _bucket_exists(store: storage.ObjectStore) -> bool:
    """Whether the bucket (folder) is there before we act. An unreachable store or refused
    credentials raise: creating a bucket cannot fix those."""
    if isinstance(store, storage.FolderStore):
        return store.root.is_dir()  # the folder store's check() would create it
    try:
        store.check()
    except storage.StorageUnavailable:
        raise
    except storage.StorageError:
        return False
    return True
