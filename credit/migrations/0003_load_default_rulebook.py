"""Store the default rulebook file as the first active version (later changes are new versions
made in the admin or by `manage.py load_rulebook`)."""

from django.db import migrations


def load_default(apps, schema_editor):
    from credit.rulebook import default_rulebook_data, parse_rulebook, rulebook_sha256

    RulebookVersion = apps.get_model("credit", "RulebookVersion")
    if RulebookVersion.objects.exists():
        return
    content = default_rulebook_data()
    RulebookVersion.objects.create(
        version=parse_rulebook(content).version,
        content=content,
        sha256=rulebook_sha256(content),
        is_active=True,
    )


class Migration(migrations.Migration):
    dependencies = [("credit", "0002_archive")]

    operations = [migrations.RunPython(load_default, migrations.RunPython.noop)]
