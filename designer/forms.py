"""Forms of the designer pages (validation only; history.py does the writing)."""

from __future__ import annotations

from typing import Any

from django import forms

from designer.models import (
    COMMENT_MAX_LENGTH,
    LINE_MAX,
    MESSAGE_MAX_LENGTH,
    NAME_MAX_LENGTH,
    PATH_MAX_LENGTH,
    Role,
    Team,
)
from designer.permissions import teams_for_user
from designer.starters import STARTERS


class TeamChoiceMixin(forms.Form):
    """A `team` field limited to the teams where the user may create projects (editor+)."""

    team = forms.ModelChoiceField(queryset=Team.objects.none(), empty_label=None)

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        teams = teams_for_user(user, Role.EDITOR)
        self.fields["team"].queryset = Team.objects.filter(pk__in=[team.pk for team in teams])


class NewProjectForm(TeamChoiceMixin):
    """New project from a starter template or empty."""

    name = forms.CharField(max_length=NAME_MAX_LENGTH)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    starter = forms.ChoiceField(choices=[(key, label) for key, (label, _) in STARTERS.items()], initial="basic")


class UploadProjectForm(TeamChoiceMixin):
    """New project from an uploaded .scxml or Composer project zip."""

    name = forms.CharField(max_length=NAME_MAX_LENGTH)
    file = forms.FileField(help_text="A .scxml document or a .zip of a Composer project (src-gen/, src/, include/)")


class UploadVersionForm(forms.Form):
    """New version of an existing project from an upload; `parent` guards against stale uploads."""

    file = forms.FileField()
    message = forms.CharField(max_length=MESSAGE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2}))
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)


class DraftAddFileForm(forms.Form):
    """Add (or replace) a file in a draft: typed content or an uploaded file."""

    path = forms.CharField(max_length=PATH_MAX_LENGTH)
    content = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 4}))
    upload = forms.FileField(required=False)


class DraftRenameFileForm(forms.Form):
    """Rename a file of a draft."""

    path = forms.CharField(max_length=PATH_MAX_LENGTH)
    new_path = forms.CharField(max_length=PATH_MAX_LENGTH)


class DraftPathForm(forms.Form):
    """One existing path of a draft (delete, set entry)."""

    path = forms.CharField(max_length=PATH_MAX_LENGTH)


class DraftSaveForm(forms.Form):
    """Save a draft as a new version."""

    message = forms.CharField(max_length=MESSAGE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2}))


class DraftStartForm(forms.Form):
    """Restart the draft from a version (discarding the current draft)."""

    base = forms.IntegerField(required=False)


class CommentForm(forms.Form):
    """A review comment, optionally a reply and/or anchored at file:line."""

    body = forms.CharField(max_length=COMMENT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}))
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)
    path = forms.CharField(max_length=PATH_MAX_LENGTH, required=False)
    line = forms.IntegerField(required=False, min_value=1, max_value=LINE_MAX)


class TeamForm(forms.Form):
    """Create a team (the creator becomes its owner)."""

    name = forms.CharField(max_length=NAME_MAX_LENGTH)


class MembershipForm(forms.Form):
    """Invite a user by username, or change a member's role."""

    username = forms.CharField(max_length=150)
    # Least privilege by default: granting ownership must be a deliberate choice.
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)
