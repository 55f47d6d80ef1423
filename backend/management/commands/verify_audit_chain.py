from django.core.management.base import BaseCommand, CommandError

from backend.audit import verify_audit_chain
from backend.tasks import AUDIT_CHAIN_HEARTBEAT, heartbeat


class Command(BaseCommand):
    help = "检查审计日志哈希链是否完整 / Verify the hash chain of the audit log."

    def handle(self, *args, **options):
        result = verify_audit_chain()
        if not result.ok:
            raise CommandError(
                f"审计链断裂 audit chain broken at seq {result.first_bad_seq}: {result.problem} "
                f"({result.checked} entries verified before it)"
            )
        heartbeat(AUDIT_CHAIN_HEARTBEAT)
        self.stdout.write(
            self.style.SUCCESS(f"审计链完整 audit chain intact: {result.checked} entries")
        )
