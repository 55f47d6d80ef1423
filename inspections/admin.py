from django.contrib import admin

from inspections.admin_import import RegistryImportMixin
from inspections.models import (
    Complaint,
    Finding,
    Inspection,
    InspectionTask,
    ManagementContract,
    Photo,
    Project,
    Upload,
)


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


# --- inspection work: read-only here, every write goes through `inspections.services` so that
# idempotency fingerprints, task feed order, audit and credit records stay consistent.


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(InspectionTask)
class InspectionTaskAdmin(ReadOnlyAdmin):
    list_display = ["project", "kind", "status", "assignee", "due_date", "priority_rank"]
    list_filter = ["kind", "status"]
    search_fields = ["project__name"]


class FindingInline(admin.TabularInline):
    model = Finding
    extra = 0
    fields = ["uuid", "violation_code", "observed_at", "review_status", "credit_record_id"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True


@admin.register(Inspection)
class InspectionAdmin(ReadOnlyAdmin):
    list_display = ["project", "inspector", "started_at", "status", "submitted_at"]
    list_filter = ["status"]
    search_fields = ["uuid", "project__name"]
    inlines = [FindingInline]


class PhotoInline(admin.TabularInline):
    model = Photo
    extra = 0
    fields = ["uuid", "state", "rejection_reason", "flags", "captured_at", "sha256"]
    readonly_fields = fields
    can_delete = False


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdmin):
    list_display = ["violation_code", "inspection", "observed_at", "review_status", "reviewed_by"]
    list_filter = ["review_status", "violation_code"]
    search_fields = ["uuid", "inspection__project__name"]
    inlines = [PhotoInline]


@admin.register(Upload)
class UploadAdmin(ReadOnlyAdmin):
    list_display = ["id", "photo", "offset", "length", "state", "expires_at"]
    list_filter = ["state"]


@admin.register(Complaint)
class ComplaintAdmin(ReadOnlyAdmin):
    list_display = ["project", "received_at", "outcome", "task"]
    list_filter = ["outcome"]
    search_fields = ["project__name"]
