"""Request validation (and OpenAPI description) of the designer JSON API."""

from __future__ import annotations

from rest_framework import serializers

from designer.starters import STARTERS


class ProjectCreateSerializer(serializers.Serializer):
    """POST /api/projects"""

    team = serializers.IntegerField()
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    starter = serializers.ChoiceField(choices=list(STARTERS), default="empty")


class VersionUploadSerializer(serializers.Serializer):
    """POST /api/projects/<id>/versions (multipart)"""

    file = serializers.FileField()
    message = serializers.CharField(max_length=2000)
    parent = serializers.IntegerField(required=False, allow_null=True, help_text="Version the upload replaces")
    entry = serializers.CharField(required=False, allow_blank=True, default="")


class DraftFileWriteSerializer(serializers.Serializer):
    """PUT /api/projects/<id>/draft/files/<path>"""

    content = serializers.CharField(allow_blank=True, trim_whitespace=False)


class DraftFileCreateSerializer(DraftFileWriteSerializer):
    """POST /api/projects/<id>/draft/files"""

    path = serializers.CharField(max_length=500)


class DraftRenameSerializer(serializers.Serializer):
    """POST /api/projects/<id>/draft/rename"""

    old = serializers.CharField(max_length=500)
    new = serializers.CharField(max_length=500)


class DraftEntrySerializer(serializers.Serializer):
    """POST /api/projects/<id>/draft/entry and /draft/delete: one path of the draft"""

    path = serializers.CharField(max_length=500)


class DraftSaveSerializer(serializers.Serializer):
    """POST /api/projects/<id>/draft/save"""

    message = serializers.CharField(max_length=2000)


class CommentCreateSerializer(serializers.Serializer):
    """POST /api/versions/<id>/comments"""

    body = serializers.CharField(max_length=10000)
    parent = serializers.IntegerField(required=False, allow_null=True)
    path = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    line = serializers.IntegerField(required=False, allow_null=True, min_value=1)
