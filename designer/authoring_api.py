"""JSON API of visual authoring: edit operations on a draft file, the block palette, the layout.

  GET  /api/authoring/palette                    blocks (with their parameters) and the extension
                                                 declarations the inspector is generated from
  POST /api/projects/<pid>/draft/edit            apply one edit operation to a draft file
  GET  /api/projects/<pid>/draft/layout          the layout sidecar (hand-moved node positions)
  PUT  /api/projects/<pid>/draft/layout

An edit is `{"path", "op", ...arguments, "base_sha256"?}`; the answer carries the new text,
its sha256 and the previous one, the changes (spans of the old text, with their lines), what
the operation reports (`info`) and the lint findings of the draft with the new text. When
`base_sha256` is given and the file changed meanwhile the answer is 409 `{"stale": true}` and
nothing is written. Undo/redo is client-side: the client keeps the texts and sends
`{"op": "restore", "text": previous}`. Deleting a state that transitions target answers 409
with `incoming` until the request says `"incoming": "delete"` or `"retarget"` (with `"to"`).

Only editors of the project (they own their draft) may edit; viewers get 403, outsiders 404.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from designer import history
from designer.analysis import project_lint
from designer.api import api, responses
from designer.authoring import blocks, edits
from designer.authoring.declarations import extension_declarations
from designer.importing import UploadError
from designer.models import Draft, Role
from designer.permissions import _get_project_for_user, require_user
from designer.serializers import FlagField, NumberField, PathField, TextField

LAYOUT_PATH = ".orchweb/layout.json"
MAX_LAYOUT_BYTES = 512 * 1024


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "object", "additionalProperties": True}]})
class RefField(serializers.JSONField):
    """An element reference: a state id, or {"id"} / {"line", "tag", "nth"} / {"root": true},
    optionally with {"child", "index"}."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, (str, dict)):
            raise serializers.ValidationError("A reference is a state id or an object.")
        return super().to_internal_value(data)


class _EditBase(serializers.Serializer):
    path = PathField(help_text="draft file to edit")
    base_sha256 = TextField(
        required=False, help_text="sha256 of the text the edit was made on (409 if the file changed)"
    )


class AddStateSerializer(_EditBase):
    op = serializers.ChoiceField(choices=["add_state"])
    parent = RefField(required=False, allow_null=True, help_text="compound state (default: the document)")
    kind = serializers.ChoiceField(choices=list(edits.STATE_KINDS))
    id = TextField()
    initial = FlagField(required=False, default=False, help_text="make it the parent's initial")


class SetAttributeSerializer(_EditBase):
    op = serializers.ChoiceField(choices=["set_attribute"])
    element = RefField()
    name = TextField()
    value = TextField(allow_null=True, allow_blank=True, trim_whitespace=False, help_text="null removes")


class SetKindSerializer(_EditBase):
    op = serializers.ChoiceField(choices=["set_kind"])
    element = RefField()
    kind = serializers.ChoiceField(choices=list(edits.STATE_KINDS))


class AddTransitionSerializer(_EditBase):
    op = serializers.ChoiceField(choices=["add_transition"])
    source = RefField()
    event = TextField(required=False, allow_null=True, allow_blank=True)
    cond = TextField(required=False, allow_null=True, allow_blank=True)
    target = TextField(required=False, allow_null=True, allow_blank=True, help_text="state id(s)")
    type = serializers.ChoiceField(choices=["external", "internal"], required=False, allow_null=True)


class RetargetTransitionSerializer(_EditBase):
    op = serializers.ChoiceField(choices=["retarget_transition"])
    transition = RefField()
    target = TextField(allow_null=True, allow_blank=True, help_text="state id(s); empty: targetless")


class DeleteElementSerializer(_EditBase):
    op = serializers.ChoiceField(choices=["delete_element"])
    element = RefField()


class RenameStateSerializer(_EditBase):
    op = serializers.ChoiceField(choices=["rename_state"])
    id = TextField(required=False, help_text="the state's id in this file (or give element)")
    element = RefField(required=False)
    new_id = TextField()
    block = FlagField(
        required=False, default=False, help_text="rename a Composer block whole (helper states, App_ object, events)"
    )


class DeleteStateSerializer(_EditBase):
    op = serializers.ChoiceField(choices=["delete_state"])
    id = TextField(required=False, help_text="the state's id in this file (or give element)")
    element = RefField(required=False)
    incoming = serializers.ChoiceField(choices=["delete", "retarget"], required=False, allow_null=True)
    to = TextField(required=False, allow_null=True, help_text="with incoming=retarget")


class InsertMarkupSerializer(_EditBase):
    op = serializers.ChoiceField(choices=["insert_markup"])
    parent = RefField()
    markup = TextField(trim_whitespace=False)


class SetContentSerializer(_EditBase):
    op = serializers.ChoiceField(choices=["set_content"])
    element = RefField()
    markup = TextField(allow_blank=True, trim_whitespace=False)


class AddBlockSerializer(_EditBase):
    op = serializers.ChoiceField(choices=["add_block"])
    block = serializers.ChoiceField(choices=list(blocks.BLOCKS))
    params = serializers.DictField(help_text="the block's parameters (see the palette)")
    parent = RefField(required=False, allow_null=True)
    connect_from = TextField(
        required=False, allow_null=True, help_text="block whose unconnected output leads to the new one"
    )


class RestoreSerializer(_EditBase):
    op = serializers.ChoiceField(choices=["restore"])
    text = TextField(allow_blank=True, trim_whitespace=False, help_text="the whole text (undo/redo)")


OPERATION_SERIALIZERS: dict[str, type[_EditBase]] = {
    "add_state": AddStateSerializer,
    "set_attribute": SetAttributeSerializer,
    "set_kind": SetKindSerializer,
    "add_transition": AddTransitionSerializer,
    "retarget_transition": RetargetTransitionSerializer,
    "delete_element": DeleteElementSerializer,
    "rename_state": RenameStateSerializer,
    "delete_state": DeleteStateSerializer,
    "insert_markup": InsertMarkupSerializer,
    "set_content": SetContentSerializer,
    "add_block": AddBlockSerializer,
    "restore": RestoreSerializer,
}


class ChangeSerializer(serializers.Serializer):
    start = serializers.IntegerField(help_text="offset in the previous text")
    end = serializers.IntegerField()
    text = serializers.CharField()
    first_line = serializers.IntegerField()
    last_line = serializers.IntegerField()


class EditResponseSerializer(serializers.Serializer):
    path = serializers.CharField()
    text = serializers.CharField()
    sha256 = serializers.CharField()
    previous_sha256 = serializers.CharField()
    changes = ChangeSerializer(many=True)
    info = serializers.DictField()
    lint = serializers.ListField(child=serializers.DictField())


class TransitionDescriptionSerializer(serializers.Serializer):
    ref = serializers.DictField(help_text="reference to the transition, for the next operation")
    line = serializers.IntegerField()
    source = serializers.CharField(allow_null=True)
    event = serializers.CharField(allow_null=True)
    cond = serializers.CharField(allow_null=True)
    target = serializers.CharField(allow_null=True)


class EditConflictSerializer(serializers.Serializer):
    """409: the file changed since `base_sha256` (`stale`), or transitions target the state to delete."""

    detail = serializers.CharField()
    stale = serializers.BooleanField(required=False)
    sha256 = serializers.CharField(required=False, help_text="the file's current sha256 (stale)")
    state = serializers.CharField(required=False)
    incoming = TransitionDescriptionSerializer(many=True, required=False)


class ParamSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    type = serializers.CharField(help_text="name, target, expr, location, text, script, int, bool, choice, rows")
    required = serializers.BooleanField()
    default = serializers.JSONField(allow_null=True)
    help = serializers.CharField()
    choices = serializers.ListField(child=serializers.CharField(), required=False)
    fields = serializers.ListField(child=serializers.DictField(), required=False, help_text="rows: their fields")


class BlockSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()
    help = serializers.CharField()
    params = ParamSerializer(many=True)
    snippet = serializers.CharField(help_text="the SCXML of an example of the block (text editor snippet)")


class AttributeDeclarationSerializer(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=["expression", "literal", "location"])
    required = serializers.BooleanField()
    type = serializers.CharField()
    values = serializers.ListField(child=serializers.JSONField(), allow_null=True)
    default = serializers.JSONField(allow_null=True)
    help = serializers.CharField()


class ActionDeclarationSerializer(serializers.Serializer):
    name = serializers.CharField()
    help = serializers.CharField()
    attributes = AttributeDeclarationSerializer(many=True)
    children = serializers.ListField(child=serializers.DictField(), help_text="child elements, recursively")
    events = serializers.ListField(child=serializers.CharField())


class ExtensionSerializer(serializers.Serializer):
    module = serializers.CharField()
    short = serializers.CharField(help_text="the prefix Composer uses (ixn for interaction)")
    namespaces = serializers.ListField(child=serializers.CharField())
    help = serializers.CharField()
    actions = ActionDeclarationSerializer(many=True)


class PaletteSerializer(serializers.Serializer):
    blocks = BlockSerializer(many=True)
    extensions = ExtensionSerializer(many=True)


class PositionSerializer(serializers.Serializer):
    x = NumberField()
    y = NumberField()


class LayoutSerializer(serializers.Serializer):
    """`{"files": {path: {state id: {"x", "y"}}}}`: positions of hand-moved nodes."""

    files = serializers.DictField(child=serializers.DictField(child=PositionSerializer()))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _draft(request: Request, project_id: int) -> Draft:
    project = _get_project_for_user(request, project_id, Role.EDITOR)
    return history.get_or_start_draft(project, request.user)


def _lint(draft: Draft, files: dict[str, bytes]) -> list[dict[str, Any]]:
    if not draft.entry:
        return []
    return project_lint(files, draft.entry)


@api(["GET"], GET={"responses": responses({200: PaletteSerializer}, (401,))})
def palette(request: Request) -> Response:
    """The block palette (each block's parameters) and the extension declarations."""
    require_user(request)
    return Response({"blocks": blocks.palette(), "extensions": extension_declarations()})


class FileStateSerializer(serializers.Serializer):
    path = serializers.CharField()
    text = serializers.CharField()
    sha256 = serializers.CharField()
    lint = serializers.ListField(child=serializers.DictField())


@api(
    ["GET", "POST"],
    GET={
        "parameters": [OpenApiParameter("path", str, required=True, description="draft file")],
        "responses": responses({200: FileStateSerializer}, (401, 403, 404, 422)),
    },
    POST={
        "request": PolymorphicProxySerializer(
            component_name="EditOperation", serializers=OPERATION_SERIALIZERS, resource_type_field_name="op"
        ),
        "responses": {
            **responses({200: EditResponseSerializer}, (400, 401, 403, 404, 422)),
            409: OpenApiResponse(EditConflictSerializer, "Stale base_sha256, or transitions target the state."),
        },
    },
)
def draft_edit(request: Request, project_id: int) -> Response:
    """GET: a draft file's text, sha256 and the draft's lint. POST: apply one edit operation to a
    file of the user's draft and answer the new text and lint."""
    draft = _draft(request, project_id)
    if request.method == "GET":
        path = request.query_params.get("path", "")
        files = draft.read_files()
        if path not in files:
            return Response({"detail": f"no file {path!r} in the draft"}, status=status.HTTP_404_NOT_FOUND)
        try:
            text = files[path].decode("utf-8")
        except UnicodeDecodeError:
            return Response({"detail": f"{path} is not UTF-8 text"}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        return Response({"path": path, "text": text, "sha256": _sha(files[path]), "lint": _lint(draft, files)})
    if not isinstance(request.data, dict):
        return Response({"detail": "an edit is a JSON object"}, status=status.HTTP_400_BAD_REQUEST)
    serializer_class = OPERATION_SERIALIZERS.get(str(request.data.get("op")))
    if serializer_class is None:
        choices = ", ".join(OPERATION_SERIALIZERS)
        return Response({"detail": f"op must be one of {choices}"}, status=status.HTTP_400_BAD_REQUEST)
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = dict(serializer.validated_data)
    path, base = data.pop("path"), data.pop("base_sha256", None)
    with transaction.atomic():
        row = draft.files.select_for_update().select_related("blob").filter(path=path).first()
        if row is None:  # named by the body: 404 stays for the URL's object
            return Response({"detail": f"no file {path!r} in the draft"}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        old_bytes = row.blob.data()
        if base and base != row.blob_id:
            return Response(
                {"detail": "the file changed since; reload it", "stale": True, "sha256": row.blob_id},
                status=status.HTTP_409_CONFLICT,
            )
        try:
            old = old_bytes.decode("utf-8")
        except UnicodeDecodeError:
            return Response({"detail": f"{path} is not UTF-8 text"}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        try:
            if data["op"] == "restore":
                result = edits.EditResult(data["text"], [edits.Change(0, len(old), data["text"])])
            else:
                result = edits.apply_operation(old, data)
        except edits.IncomingTransitions as exc:
            body = {"detail": str(exc), "state": exc.state, "incoming": exc.incoming}
            return Response(body, status=status.HTTP_409_CONFLICT)
        except edits.EditError as exc:  # the edit does not fit the document as it is
            return Response({"detail": str(exc)}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        new_bytes = result.text.encode("utf-8")
        try:
            row = history.write_draft_file(draft, path, new_bytes)
        except UploadError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    files = draft.read_files()
    changes = [
        {
            "start": c.start,
            "end": c.end,
            "text": c.text,
            "first_line": old.count("\n", 0, c.start) + 1,
            "last_line": old.count("\n", 0, max(c.start, c.end - 1)) + 1,
        }
        for c in result.changes
    ]
    return Response(
        {
            "path": row.path,
            "text": result.text,
            "sha256": row.blob_id,
            "previous_sha256": _sha(old_bytes),
            "changes": changes,
            "info": result.info,
            "lint": _lint(draft, files),
        }
    )


def _layout(value: Any) -> dict[str, Any]:
    """The layout with only its positions (extra keys dropped), or ValidationError."""
    layout = LayoutSerializer(data=value)
    layout.is_valid(raise_exception=True)
    return layout.validated_data


@api(
    ["GET", "PUT"],
    GET={"responses": responses({200: LayoutSerializer}, (401, 403, 404))},
    PUT={"request": LayoutSerializer, "responses": responses({200: LayoutSerializer}, (400, 401, 403, 404, 422))},
)
def draft_layout(request: Request, project_id: int) -> Response:
    """The draft's layout sidecar `.orchweb/layout.json` (saved with the draft's versions; the
    SCXML stays what ORS loads)."""
    draft = _draft(request, project_id)
    if request.method == "GET":
        row = draft.files.select_related("blob").filter(path=LAYOUT_PATH).first()
        if row is None:
            return Response({"files": {}})
        try:
            return Response(_layout(json.loads(row.blob.data())))
        except (ValueError, serializers.ValidationError):  # a hand-edited sidecar that is not a layout
            return Response({"files": {}})
    layout = _layout(request.data)
    content = json.dumps(layout, indent=1, sort_keys=True).encode("utf-8") + b"\n"
    if len(content) > MAX_LAYOUT_BYTES:
        return Response({"detail": "the layout is too large"}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    history.write_draft_file(draft, LAYOUT_PATH, content)
    return Response(layout)
