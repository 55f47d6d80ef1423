from django.contrib import admin

from credit.models import Enterprise, Region, StaffProfile


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
