from django.core.management.base import BaseCommand, CommandError

from backend.audit import SYSTEM_ACTOR
from credit.models import StaffRole
from credit.staff import StaffInvalid, staff_upsert


class Command(BaseCommand):
    help = (
        "创建或更新工作人员账号及其角色和负责区划 / Create or update a staff account. "
        "admin 角色同时获得 Django 管理后台权限。"
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=StaffRole.values)
        parser.add_argument(
            "--regions",
            required=True,
            help="区划代码，多个用逗号分隔，例如 150100,150200 / comma-separated region codes",
        )
        parser.add_argument("--password", required=True)
        parser.add_argument("--name", default="", help="姓名 / display name")
        parser.add_argument("--actor", default=SYSTEM_ACTOR, help="审计日志中的操作人")

    def handle(self, *args, username, role, regions, password, name, actor, **options):
        try:
            result = staff_upsert(
                username=username,
                role=role,
                region_codes=regions.split(","),
                password=password,
                display_name=name,
                actor=actor,
            )
        except StaffInvalid as exc:
            raise CommandError(str(exc)) from exc
        verb = "已创建 created" if result.created else "已更新 updated"
        if not result.changed:
            verb = "无变化 unchanged"
        codes = ",".join(result.profile.regions.order_by("code").values_list("code", flat=True))
        self.stdout.write(self.style.SUCCESS(f"{verb}: {username} ({role}) {codes}"))
