import json

from django.core.management.base import BaseCommand

from credit.publication import snapshot_publish


class Command(BaseCommand):
    help = "立即发布信用快照 / Publish a credit snapshot now"

    def handle(self, *args, **options):
        self.stdout.write("publishing …")
        snapshot = snapshot_publish(actor=None)
        self.stdout.write(
            json.dumps(
                {
                    "id": snapshot.id,
                    "published_at": snapshot.published_at.isoformat(),
                    "sha256": snapshot.sha256,
                    "enterprises": snapshot.enterprises,
                }
            )
        )
