"""The API's OpenAPI generator: drf-spectacular's, with a polymorphic request body required.

drf-spectacular marks a request body required when its serializer has a required field; a
PolymorphicProxySerializer (one body of several shapes, as the authoring edit operations) has no
fields of its own, so its body was optional in the schema while the server needs one.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import force_instance
from drf_spectacular.utils import PolymorphicProxySerializer


class AutoSchema(SpectacularAutoSchema):
    def _get_request_for_media_type(self, serializer: Any, direction: Any = "request") -> tuple[Any, bool]:
        schema, required = super()._get_request_for_media_type(serializer, direction)
        return schema, required or isinstance(force_instance(serializer), PolymorphicProxySerializer)
