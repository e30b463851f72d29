"""JSON API of batch runs (the designer's api()/responses() helpers; documented at /api/schema/).

The rules are simulator.batches': team members read a version's runs, editors and owners start
them (viewers 403, outsiders 404), the run's owner or a team owner cancels; a user over the
concurrent-batch limit gets 429.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from designer.api import READ, WRITE, _error, api, paginate, responses
from designer.permissions import _get_version_for_user, request_share_tokens, require_user
from designer.serializers import ErrorSerializer, WholeNumberField
from simulator import batches
from simulator.models import BatchRun

LIMITED = OpenApiResponse(ErrorSerializer, "Too many batches: you already have the most allowed queued or running.")
LIST = (400, 401)


@extend_schema_field(
    {"oneOf": [{"type": "object", "additionalProperties": True}, {"type": "string"}], "nullable": True}
)
class FakesField(serializers.JSONField):
    """A fakes profile: a JSON object, the path of a fakes/*.json file of the version, or null."""

    def to_internal_value(self, data: Any) -> Any:
        if data is not None and not isinstance(data, (dict, str)):
            raise serializers.ValidationError("A fakes profile is a JSON object or a file path.")
        return super().to_internal_value(data)


@extend_schema_field({"oneOf": [{"type": "array", "items": {}}, {"type": "object", "additionalProperties": True}]})
class VariationField(serializers.JSONField):
    """One variation: a list of values or {"values": [...], "weights": [...]} (checked by parse_vary)."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, (list, dict)):
            raise serializers.ValidationError("A variation is a list of values or an object.")
        return super().to_internal_value(data)


class BatchStartSerializer(serializers.Serializer):
    count = WholeNumberField(min_value=1, max_value=settings.BATCH_MAX_COUNT, help_text="Interactions to simulate")
    seed = WholeNumberField(min_value=0, max_value=batches.MAX_SEED, default=0, help_text="Base seed")
    vary = serializers.DictField(
        child=VariationField(),
        required=False,
        default=dict,
        help_text='Variations: {key: [values]} or {key: {"values": [...], "weights": [...]}} (docs/scenarios.md)',
    )
    fakes = FakesField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Base fakes profile: a JSON object, or the path of a fakes/*.json file of the version",
    )


class BatchUrlsSerializer(serializers.Serializer):
    page = serializers.CharField()
    api = serializers.CharField()
    ws = serializers.CharField(help_text="Progress websocket (frames: progress, finished)")
    cancel = serializers.CharField(help_text="POST here (API) to cancel")
    report_json = serializers.CharField()
    report_csv = serializers.CharField()


class BatchSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    owner = serializers.CharField(source="owner.username")
    version = serializers.IntegerField(source="version_id")
    project = serializers.IntegerField(source="version.project_id")
    status = serializers.ChoiceField(choices=BatchRun.Status.choices)
    count = serializers.IntegerField()
    done = serializers.IntegerField(help_text="Interactions finished so far")
    seed = serializers.IntegerField()
    vary = serializers.JSONField()
    executor = serializers.CharField(help_text='"local" or "celery"')
    cancel_requested = serializers.BooleanField(help_text="A cancel is on its way to the running batch")
    created = serializers.DateTimeField()
    started = serializers.DateTimeField(allow_null=True)
    finished = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    urls = serializers.SerializerMethodField()

    @extend_schema_field(BatchUrlsSerializer)
    def get_urls(self, run: BatchRun) -> dict[str, str]:
        return batch_urls(run)


class BatchDetailSerializer(BatchSerializer):
    fakes = serializers.JSONField()
    can_cancel = serializers.SerializerMethodField(help_text="Whether you may cancel it (its owner, a team owner)")
    report = serializers.JSONField(
        allow_null=True,
        help_text="run_batch's summary once finished (docs/scenarios.md): outcomes, targets, virtual_time, "
        "time_to_route {bucket_seconds, counts}, by_variation, final_states, coverage, heat",
    )

    def get_can_cancel(self, run: BatchRun) -> bool:
        return batches.can_cancel(self.context["user"], run)


class BatchListSerializer(serializers.Serializer):
    batches = BatchSerializer(many=True)
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)


def batch_urls(run: BatchRun) -> dict[str, str]:
    """Where a run's page, API, socket, cancel and exports are (the pages use them too)."""
    return {
        "page": reverse("simulator-batch-detail", args=[run.pk]),
        "api": reverse("simulator-api-batch-detail", args=[run.pk]),
        "ws": f"/ws/batches/{run.pk}/",
        "cancel": reverse("simulator-api-batch-cancel", args=[run.pk]),
        "report_json": reverse("simulator-batch-json", args=[run.pk]),
        "report_csv": reverse("simulator-batch-csv", args=[run.pk]),
    }


def _detail(request: Request, run: BatchRun, code: int = status.HTTP_200_OK) -> Response:
    return Response(serialize(request, run), status=code)


def _run(request: Request, batch_id: int) -> BatchRun:
    require_user(request)
    return batches.get_batch_for_user(request.user, batch_id, request_share_tokens(request))


@api(
    ["GET", "POST"],
    work=("POST",),
    GET={"parameters": [], "responses": responses({200: BatchListSerializer}, (400, 401, 404))},
    POST={
        "request": BatchStartSerializer,
        "responses": {**responses({201: BatchDetailSerializer}, (*WRITE, 422)), 429: LIMITED},
    },
)
def version_batches(request: Request, version_id: int) -> Response:
    """GET the version's batch runs, newest first (paginated); POST starts one (editor or owner)."""
    require_user(request)
    version = _get_version_for_user(request, version_id)
    if request.method == "GET":
        runs = BatchRun.objects.filter(version=version).select_related("owner", "version")
        return Response(BatchListSerializer(paginate(request, runs, "batches")).data)
    data = BatchStartSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    try:
        run = batches.start_batch(request.user, version, **data.validated_data)
    except batches.BatchLimit as exc:
        return _error(str(exc), status.HTTP_429_TOO_MANY_REQUESTS)
    except batches.BatchError as exc:  # a variation, profile or strategy that cannot be run
        return _error(str(exc), status.HTTP_422_UNPROCESSABLE_ENTITY)
    except PermissionDenied as exc:
        return _error(str(exc), status.HTTP_403_FORBIDDEN)
    return _detail(request, run, status.HTTP_201_CREATED)


@api(["GET"], GET={"responses": responses({200: BatchListSerializer}, LIST)})
def batch_list(request: Request) -> Response:
    """Batch runs of the versions of your teams, newest first (paginated)."""
    require_user(request)
    return Response(BatchListSerializer(paginate(request, batches.batches_for_user(request.user), "batches")).data)


@api(["GET"], GET={"responses": responses({200: BatchDetailSerializer}, READ)})
def batch_detail(request: Request, batch_id: int) -> Response:
    """One batch run with its progress and, once finished, its report."""
    return _detail(request, _run(request, batch_id))


@api(["POST"], POST={"request": None, "responses": responses({200: BatchDetailSerializer}, (401, 403, 404))})
def batch_cancel(request: Request, batch_id: int) -> Response:
    """Cancel a queued or running batch (its owner or a team owner): it stops after its current
    chunk and keeps the partial report; a finished one is returned unchanged."""
    run = _run(request, batch_id)
    try:
        run = batches.cancel_batch(request.user, run)
    except PermissionDenied as exc:
        return _error(str(exc), status.HTTP_403_FORBIDDEN)
    return _detail(request, run)


def serialize(request: Any, run: BatchRun) -> dict[str, Any]:
    """The API's detail JSON of a run (the page embeds it)."""
    return dict(BatchDetailSerializer(run, context={"user": request.user}).data)
