import json

from django.core.management.base import BaseCommand

from credit.tender_auth import tender_client_create


class Command(BaseCommand):
    help = (
        '创建招投标平台客户端，输出 {"client_id","secret"}（密钥只显示这一次）/ '
        "Create a tender-platform client; prints its id and secret as JSON"
    )

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, name: str, **options):
        client, secret = tender_client_create(name=name)
        self.stdout.write(json.dumps({"client_id": client.client_id, "secret": secret}))
