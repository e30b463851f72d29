"""The run's end drops the test databases: no thread of the test process may keep a connection.

Under PostgreSQL, DROP DATABASE fails while another session uses the database, and pytest.ini
turns pytest-django's warning about it into an error. tests/conftest.py's `django_db_setup` closes
what the process's threads keep; this test leaves a connection where Channels' test communicators
leave theirs, so a scaled run fails at its end if that is no longer closed.
"""

from __future__ import annotations

import pytest
from asgiref.sync import SyncToAsync
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_connection_left_in_the_thread_sensitive_executor_is_closed_before_the_drop() -> None:
    def count_users() -> int:
        return get_user_model().objects.count()

    assert SyncToAsync.single_thread_executor.submit(count_users).result() == 0
