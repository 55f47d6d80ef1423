from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from backend.models import AuditEntry
from credit.models import StaffProfile, StaffRole
from tests.factories import region

pytestmark = pytest.mark.django_db

PASSWORD = "Correct-Horse-42"


@pytest.fixture(autouse=True)
def regions(settings):
    # The production hasher takes ~0.5 s per password on the CI machine.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    region("150100", "呼和浩特市")
    region("150200", "包头市")


def create_staff(*args: str) -> str:
    out = StringIO()
    call_command("create_staff", *args, stdout=out)
    return out.getvalue()


def test_an_inspector_is_created_with_regions_and_no_admin_access():
    out = create_staff(
        "wang", "--role", "inspector", "--regions", "150100,150200", "--password", PASSWORD
    )

    user = get_user_model().objects.get(username="wang")
    assert user.check_password(PASSWORD)
    assert (user.is_staff, user.is_superuser) == (False, False)
    profile = user.staff_profile
    assert profile.role == StaffRole.INSPECTOR
    assert sorted(profile.regions.values_list("code", flat=True)) == ["150100", "150200"]
    assert "已创建 created: wang (inspector) 150100,150200" in out


def test_an_admin_gets_the_django_admin():
    create_staff("boss", "--role", "admin", "--regions", "150100", "--password", PASSWORD)

    user = get_user_model().objects.get(username="boss")
    assert (user.is_staff, user.is_superuser) == (True, True)


def test_running_again_updates_role_regions_and_password():
    create_staff("li", "--role", "admin", "--regions", "150100", "--password", PASSWORD)

    create_staff(
        "li", "--role", "reviewer", "--regions", "150200", "--password", "Another-Horse-43"
    )

    user = get_user_model().objects.get(username="li")
    assert user.check_password("Another-Horse-43")
    assert (user.is_staff, user.is_superuser) == (False, False)
    assert user.staff_profile.role == StaffRole.REVIEWER
    assert list(user.staff_profile.regions.values_list("code", flat=True)) == ["150200"]
    assert StaffProfile.objects.count() == 1


def test_running_the_same_command_twice_changes_and_audits_nothing():
    args = ("zhao", "--role", "reviewer", "--regions", "150100", "--password", PASSWORD)
    create_staff(*args)
    audited = AuditEntry.objects.filter(object_type="staff").count()

    out = create_staff(*args)

    assert "无变化 unchanged" in out
    assert AuditEntry.objects.filter(object_type="staff").count() == audited == 1


def test_creation_is_audited_without_the_password():
    create_staff("sun", "--role", "inspector", "--regions", "150100", "--password", PASSWORD)

    entry = AuditEntry.objects.get(object_type="staff")
    assert (entry.action, entry.object_id, entry.actor) == ("staff.create", "sun", "system")
    assert entry.payload == {"role": "inspector", "regions": ["150100"]}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--role", "inspector", "--regions", "150999", "--password", PASSWORD), "150999"),
        (
            ("--role", "inspector", "--regions", " , ", "--password", PASSWORD),
            "至少指定一个负责区划",
        ),
        (
            ("--role", "inspector", "--regions", "150100", "--password", "12345678"),
            "密码不符合要求",
        ),
        (("--role", "inspector", "--regions", "150100", "--password", "short"), "密码不符合要求"),
    ],
)
def test_invalid_input_is_refused_and_nothing_is_written(args, message):
    with pytest.raises(CommandError, match=message):
        create_staff("zhou", *args)

    assert not get_user_model().objects.filter(username="zhou").exists()
    assert AuditEntry.objects.count() == 0


def test_an_unknown_role_is_refused():
    with pytest.raises(CommandError, match="invalid choice"):
        create_staff("zhou", "--role", "mayor", "--regions", "150100", "--password", PASSWORD)


def test_a_password_like_the_username_is_refused():
    with pytest.raises(CommandError, match="密码不符合要求"):
        create_staff(
            "zhangwei2024",
            "--role",
            "inspector",
            "--regions",
            "150100",
            "--password",
            "zhangwei2024",
        )


def test_an_invalid_username_is_refused():
    with pytest.raises(CommandError, match="用户名无效"):
        create_staff(
            "bad name!", "--role", "inspector", "--regions", "150100", "--password", PASSWORD
        )
