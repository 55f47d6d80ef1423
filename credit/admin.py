from django import forms
from django.contrib import admin, messages

from credit.models import (
    BlacklistEntry,
    CreditRecord,
    Enterprise,
    EnterpriseScore,
    Objection,
    Region,
    RepairApplication,
    RulebookVersion,
    Snapshot,
    StaffProfile,
    TenderCall,
    TenderClient,
)
from credit.rulebook import RulebookError, parse_rulebook, rulebook_sha256
from credit.services import ERR_RULEBOOK_VERSION_TAKEN, rulebook_version_create


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["code", "name"]
    raw_id_fields = ["parent"]


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    list_display = ["name", "uscc", "region", "status", "managed_projects", "managed_area_m2"]
    list_filter = ["status", "region__parent"]
    search_fields = ["name", "uscc"]
    raw_id_fields = ["region"]
    readonly_fields = ["managed_area_m2", "managed_projects", "created_at", "updated_at"]


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "display_name", "role"]
    list_filter = ["role"]
    search_fields = ["user__username", "display_name"]
    filter_horizontal = ["regions"]
    raw_id_fields = ["user"]


# --- credit archive -----------------------------------------------------------------------------
# Writes that affect credit go through the services (audited); the admin shows the archive and
# offers the rulebook and backbone actions. Records, objections, repairs, the blacklist and
# snapshots are changed through the bureau API and pages, never edited here.


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CreditRecord)
class CreditRecordAdmin(ReadOnlyAdmin):
    list_display = ["id", "enterprise", "rule_code", "kind", "points", "status", "decided_at"]
    list_filter = ["status", "kind", "severity", "source"]
    search_fields = ["enterprise__name", "enterprise__uscc", "rule_code", "document_no"]
    date_hierarchy = "decided_at"


@admin.register(Objection)
class ObjectionAdmin(ReadOnlyAdmin):
    list_display = ["record", "filed_on", "decision", "decided_at"]
    list_filter = ["decision"]


@admin.register(RepairApplication)
class RepairApplicationAdmin(ReadOnlyAdmin):
    list_display = ["record", "applied_on", "status", "decided_at"]
    list_filter = ["status"]


@admin.register(BlacklistEntry)
class BlacklistEntryAdmin(ReadOnlyAdmin):
    list_display = ["enterprise", "status", "proposed_at", "entry_date", "exit_date"]
    list_filter = ["status"]
    search_fields = ["enterprise__name", "enterprise__uscc"]


@admin.register(EnterpriseScore)
class EnterpriseScoreAdmin(ReadOnlyAdmin):
    list_display = ["enterprise", "score", "grade", "blacklisted", "dirty", "computed_at"]
    list_filter = ["grade", "blacklisted", "dirty"]
    search_fields = ["enterprise__name", "enterprise__uscc"]


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnlyAdmin):
    list_display = ["id", "as_of", "published_at", "enterprises", "rulebook_version", "sha256"]


@admin.register(TenderCall)
class TenderCallAdmin(ReadOnlyAdmin):
    list_display = ["at", "client", "method", "path", "status", "snapshot_id"]
    list_filter = ["status", "client"]
    date_hierarchy = "at"


@admin.register(TenderClient)
class TenderClientAdmin(admin.ModelAdmin):
    """Clients are created with `manage.py create_tender_client` (which shows the secret once);
    here they can only be switched off."""

    list_display = ["client_id", "name", "is_active", "created_at"]
    fields = ["client_id", "name", "is_active"]
    readonly_fields = ["client_id", "name"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class RulebookVersionForm(forms.ModelForm):
    class Meta:
        model = RulebookVersion
        fields = ["content"]

    def clean_content(self):
        content = self.cleaned_data["content"]
        try:
            rulebook = parse_rulebook(content)
        except RulebookError as exc:
            raise forms.ValidationError(list(exc.problems)) from exc
        taken = RulebookVersion.objects.filter(version=rulebook.version).exclude(
            sha256=rulebook_sha256(content)
        )
        if taken.exists():
            raise forms.ValidationError(ERR_RULEBOOK_VERSION_TAKEN.format(version=rulebook.version))
        return content


@admin.register(RulebookVersion)
class RulebookVersionAdmin(admin.ModelAdmin):
    """A change to the rules is a new version: paste the edited JSON (with a new "version")
    into "add"; saved versions cannot be edited, only activated."""

    form = RulebookVersionForm
    list_display = ["version", "is_active", "sha256", "created_by", "created_at"]
    actions = ["activate"]

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        stored = rulebook_version_create(content=obj.content, actor=request.user, activate=False)
        obj.pk, obj.version, obj.sha256 = stored.pk, stored.version, stored.sha256

    @admin.action(description="启用所选规则版本 / Activate the selected version")
    def activate(self, request, queryset) -> None:
        if queryset.count() != 1:
            self.message_user(request, "请只选择一个版本。", level=messages.ERROR)
            return
        version = queryset.get()
        rulebook_version_create(content=version.content, actor=request.user, activate=True)
        self.message_user(request, f"已启用 {version.version}，请运行 recompute_scores --all。")
