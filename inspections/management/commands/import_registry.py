from argparse import RawDescriptionHelpFormatter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from backend.audit import SYSTEM_ACTOR
from inspections.registry_import import ImportReport, registry_import
from inspections.registry_sheet import FORMAT_HELP

ERR_NOT_FOUND = "文件不存在：{path}"
ERR_FAILED = "导入失败：共 {count} 处错误，未导入任何数据。"


class Command(BaseCommand):
    help = "导入物业企业、项目和物业服务合同台账 / Import the registry from a spreadsheet.\n\n" + (
        FORMAT_HELP
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter  # keep the format's line breaks
        return parser

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="FILE.xlsx 或 FILE.csv")
        parser.add_argument(
            "--actor", default=SYSTEM_ACTOR, help="审计日志中记录的操作人 / actor for the audit log"
        )

    def handle(self, *args, file: Path, actor: str, **options):
        if not file.is_file():
            raise CommandError(ERR_NOT_FOUND.format(path=file))
        with file.open("rb") as source:
            report = registry_import(source=source, filename=file.name, actor=actor)
        for error in report.errors:
            self.stderr.write(error.describe())
        if not report.ok:
            raise CommandError(ERR_FAILED.format(count=len(report.errors)))
        self.stdout.write(self.style.SUCCESS(_summary(report)))


def _summary(report: ImportReport) -> str:
    lines = ["导入完成 import finished      新增 created  更新 updated  未变 unchanged"]
    for label, counts in (
        ("企业 enterprises", report.enterprises),
        ("项目 projects", report.projects),
        ("合同 contracts", report.contracts),
    ):
        lines.append(f"{label:<28}{counts.created:>10}{counts.updated:>13}{counts.unchanged:>15}")
    return "\n".join(lines)
