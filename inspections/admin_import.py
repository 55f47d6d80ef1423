"""The registry spreadsheet import in the Django admin: a “导入台账” button on the project list
and a page at …/inspections/project/import/. The page only parses the upload and calls
`registry_import`; the service does everything else.

Hook it up by mixing `RegistryImportMixin` into the project admin:

    class ProjectAdmin(RegistryImportMixin, admin.ModelAdmin): ...
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from inspections.registry_import import ImportReport, registry_import
from inspections.registry_sheet import ERR_FILE_TOO_BIG, FORMAT_HELP, MAX_FILE_BYTES

MSG_IMPORTED = (
    "导入完成：企业 新增 {e.created} / 更新 {e.updated} / 未变 {e.unchanged}；"
    "项目 新增 {p.created} / 更新 {p.updated} / 未变 {p.unchanged}；"
    "合同 新增 {c.created} / 更新 {c.updated} / 未变 {c.unchanged}。"
)
# A page listing tens of thousands of errors helps nobody; the count is always shown.
MAX_ERRORS_SHOWN = 500
# Importing writes all three tables, so it needs the add and change rights on each.
IMPORT_PERMISSIONS = (
    "credit.add_enterprise",
    "credit.change_enterprise",
    "inspections.add_project",
    "inspections.change_project",
    "inspections.add_managementcontract",
    "inspections.change_managementcontract",
)


class RegistryImportForm(forms.Form):
    file = forms.FileField(label="台账文件（.xlsx 或 .csv）")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:  # refuse before reading it
            raise forms.ValidationError(ERR_FILE_TOO_BIG)
        return upload


class RegistryImportMixin:
    change_list_template = "admin/inspections/registry_import_change_list.html"

    def get_urls(self):
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}_registry_import"
        view = self.admin_site.admin_view(self.registry_import_view)
        return [path("import/", view, name=name), *super().get_urls()]

    def has_registry_import_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perms(IMPORT_PERMISSIONS)

    def changelist_view(self, request, extra_context=None):
        extra = {"can_import_registry": self.has_registry_import_permission(request)}
        return super().changelist_view(request, extra_context={**(extra_context or {}), **extra})

    def registry_import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_registry_import_permission(request):
            raise PermissionDenied
        report: ImportReport | None = None
        form = RegistryImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            report = registry_import(
                source=upload, filename=upload.name, actor=request.user.get_username()
            )
            if report.ok:
                messages.success(
                    request,
                    MSG_IMPORTED.format(
                        e=report.enterprises, p=report.projects, c=report.contracts
                    ),
                )
                opts = self.model._meta
                return HttpResponseRedirect(
                    reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_changelist")
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "导入物业企业和项目台账",
            "form": form,
            "report": report,
            "errors_shown": report.errors[:MAX_ERRORS_SHOWN] if report else (),
            "format_help": FORMAT_HELP,
        }
        return TemplateResponse(request, "admin/inspections/registry_import.html", context)
