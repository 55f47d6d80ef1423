"""The admin import page, on a private admin site whose project admin has the mixin (the real
site's ProjectAdmin gets it in inspections/admin.py)."""

import io

import openpyxl
import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import path

from credit.models import Enterprise
from credit.validators import make_uscc
from inspections.admin_import import IMPORT_PERMISSIONS, RegistryImportMixin
from inspections.models import Project
from tests.factories import region

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

site = admin.AdminSite(name="admin")


class ProjectImportAdmin(RegistryImportMixin, admin.ModelAdmin):
    pass


site.register(Project, ProjectImportAdmin)
urlpatterns = [path("admin/", site.urls)]

IMPORT_URL = "/admin/inspections/project/import/"
USCC = make_uscc(region_code="150102", serial=901)


def workbook(region_code: str) -> SimpleUploadedFile:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "企业"
    sheet.append(["统一社会信用代码", "企业名称", "区划代码"])
    sheet.append([USCC, "呼和浩特市青城物业服务有限公司", region_code])
    buffer = io.BytesIO()
    book.save(buffer)
    return SimpleUploadedFile("台账.xlsx", buffer.getvalue())


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    # The manifest storage of production needs `collectstatic`; pages render without it here.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def superuser(client):
    region("150102", "新城区")
    user = get_user_model().objects.create_superuser("boss", password="Correct-Horse-42")
    client.force_login(user)
    return user


def test_the_project_list_offers_the_import(client, superuser):
    response = client.get("/admin/inspections/project/")

    assert response.status_code == 200
    assert 'href="import/"' in response.content.decode()


def test_a_good_file_is_imported_and_redirects_with_the_counts(client, superuser):
    response = client.post(IMPORT_URL, {"file": workbook("150102")}, follow=True)

    assert response.redirect_chain == [("/admin/inspections/project/", 302)]
    assert "企业 新增 1 / 更新 0 / 未变 0" in response.content.decode()
    assert Enterprise.objects.get().uscc == USCC


def test_a_bad_file_lists_its_errors_and_imports_nothing(client, superuser):
    response = client.post(IMPORT_URL, {"file": workbook("150999")})

    page = response.content.decode()
    assert response.status_code == 200
    assert "文件有 1 处错误，未导入任何数据" in page
    assert "区划代码 150999 不存在于行政区划表" in page
    assert Enterprise.objects.count() == 0


def test_staff_without_the_registry_permissions_cannot_import(client):
    region("150102", "新城区")
    clerk = get_user_model().objects.create_user(
        "clerk", password="Correct-Horse-42", is_staff=True
    )
    clerk.user_permissions.add(Permission.objects.get(codename="view_project"))
    client.force_login(clerk)

    response = client.post(IMPORT_URL, {"file": workbook("150102")})

    assert response.status_code == 403
    assert Enterprise.objects.count() == 0


def test_staff_with_the_registry_permissions_can_import(client):
    region("150102", "新城区")
    clerk = get_user_model().objects.create_user(
        "clerk", password="Correct-Horse-42", is_staff=True
    )
    codenames = [permission.split(".")[1] for permission in IMPORT_PERMISSIONS]
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(clerk)

    response = client.post(IMPORT_URL, {"file": workbook("150102")})

    assert response.status_code == 302
    assert Enterprise.objects.count() == 1
