from django.contrib import admin

from inspections.admin_import import RegistryImportMixin
from inspections.models import ManagementContract, Project


class ContractInline(admin.TabularInline):
    model = ManagementContract
    extra = 0
    raw_id_fields = ["enterprise"]


@admin.register(Project)
class ProjectAdmin(RegistryImportMixin, admin.ModelAdmin):
    list_display = ["name", "region", "project_type", "building_area_m2", "is_old_compound"]
    list_filter = ["project_type", "is_old_compound", "region__parent"]
    search_fields = ["name", "address"]
    raw_id_fields = ["region"]
    inlines = [ContractInline]


@admin.register(ManagementContract)
class ManagementContractAdmin(admin.ModelAdmin):
    list_display = ["project", "enterprise", "start_date", "end_date", "by_tender"]
    list_filter = ["by_tender"]
    search_fields = ["project__name", "enterprise__name", "enterprise__uscc", "contract_no"]
    raw_id_fields = ["project", "enterprise"]
