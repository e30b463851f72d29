"""Request validation (and OpenAPI description) of the designer JSON API."""

from __future__ import annotations

from rest_framework import serializers

from designer.models import COMMENT_MAX_LENGTH, MESSAGE_MAX_LENGTH, NAME_MAX_LENGTH, PATH_MAX_LENGTH
from designer.starters import STARTERS


class ProjectCreateSerializer(serializers.Serializer):
    """POST /api/projects"""

    team = serializers.IntegerField()
    name = serializers.CharField(max_length=NAME_MAX_LENGTH)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    starter = serializers.ChoiceField(choices=list(STARTERS), default="empty")


class VersionUploadSerializer(serializers.Serializer):
    """POST /api/projects/<id>/versions (multipart)"""

    file = serializers.FileField()
    message = serializers.CharField(max_length=MESSAGE_MAX_LENGTH)
    parent = serializers.IntegerField(required=False, allow_null=True, help_text="Version the upload replaces")
    entry = serializers.CharField(required=False, allow_blank=True, default="")


class DraftFileWriteSerializer(serializers.Serializer):
    """PUT /api/projects/<id>/draft/files/<path>"""

    content = serializers.CharField(allow_blank=True, trim_whitespace=False)


class DraftFileCreateSerializer(DraftFileWriteSerializer):
    """POST /api/projects/<id>/draft/files"""

    path = serializers.CharField(max_length=PATH_MAX_LENGTH)


class DraftRenameSerializer(serializers.Serializer):
    """POST /api/projects/<id>/draft/rename"""

    old = serializers.CharField(max_length=PATH_MAX_LENGTH)
    new = serializers.CharField(max_length=PATH_MAX_LENGTH)


class DraftEntrySerializer(serializers.Serializer):
    """POST /api/projects/<id>/draft/entry and /draft/delete: one path of the draft"""

    path = serializers.CharField(max_length=PATH_MAX_LENGTH)


class DraftSaveSerializer(serializers.Serializer):
    """POST /api/projects/<id>/draft/save"""

    message = serializers.CharField(max_length=MESSAGE_MAX_LENGTH)


class CommentCreateSerializer(serializers.Serializer):
    """POST /api/versions/<id>/comments"""

    body = serializers.CharField(max_length=COMMENT_MAX_LENGTH)
    parent = serializers.IntegerField(required=False, allow_null=True)
    path = serializers.CharField(max_length=PATH_MAX_LENGTH, required=False, allow_blank=True, default="")
    line = serializers.IntegerField(required=False, allow_null=True, min_value=1)
