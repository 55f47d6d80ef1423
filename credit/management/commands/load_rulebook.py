import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from backend.exceptions import DomainError
from credit.rulebook import DEFAULT_RULEBOOK_PATH
from credit.services import rulebook_version_create


class Command(BaseCommand):
    help = (
        "载入信用规则文件为新版本并启用（默认 credit/rulebook/default.json）/ "
        "Store a rulebook file as a new version and activate it"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default=str(DEFAULT_RULEBOOK_PATH))
        parser.add_argument("--no-activate", action="store_true", help="只保存不启用 / store only")

    def handle(self, *args, file: str, no_activate: bool, **options):
        try:
            content = json.loads(Path(file).read_text(encoding="utf-8"))
            version = rulebook_version_create(content=content, actor=None, activate=not no_activate)
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"cannot read {file}: {exc}") from exc
        except DomainError as exc:
            details = "\n".join(f"- {message}" for _, message in exc.fields)
            raise CommandError(f"{exc.detail}\n{details}".strip()) from exc
        state = "active" if version.is_active else "stored"
        self.stdout.write(f"rulebook {version.version} ({version.sha256[:12]}) {state}")
        self.stdout.write("run `manage.py recompute_scores --all` to rescore under it")
