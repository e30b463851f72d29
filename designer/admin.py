"""Admin registrations of the designer app.

Versions and their files are shown read-only: history is never edited or deleted through the
admin (the models refuse it too). Team membership is managed here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from designer.models import Comment, Membership, Project, ShareLink, Team, Version, VersionFile


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "created_by", "created_at"]
    list_filter = ["team"]
    search_fields = ["name"]


class VersionFileInline(admin.TabularInline):
    model = VersionFile
    fields = ["path", "blob"]
    readonly_fields = ["path", "blob"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Version)
class VersionAdmin(admin.ModelAdmin):
    list_display = ["project", "label", "author", "created_at", "message"]
    list_filter = ["project__team"]
    readonly_fields = ["project", "number", "parent", "author", "created_at", "message", "entry"]
    inlines = [VersionFileInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    list_display = ["version", "created_by", "created_at", "revoked_at"]
    readonly_fields = ["token"]


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["version", "author", "path", "line", "created_at"]
