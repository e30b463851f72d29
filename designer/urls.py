"""URL routes of the designer app: pages (`designer-<verb-noun>`) and the JSON API (`designer-api-*`).

Pages
  /projects/                                   designer-project-list
  /projects/new/                               designer-project-new          (starter template or empty)
  /projects/upload/                            designer-project-upload       (.scxml or Composer zip)
  /projects/<pid>/                             designer-project-detail       (versions timeline)
  /projects/<pid>/upload/                      designer-version-upload
  /projects/<pid>/draft/                       designer-draft-detail         (file add/rename/delete, save)
  /projects/<pid>/draft/editor/                designer-draft-editor         (designer/editor.html, payload mode=draft)
  /projects/<pid>/draft/diagram/               designer-draft-diagram        (designer/diagram.html)
  /projects/<pid>/draft/{start,add,rename,delete,entry,save,rebase,discard}/   POST forms
  /projects/<pid>/draft/tests/[replay/]        designer-draft-tests / -replay (scenarios of the draft)
  /versions/<vid>/                             designer-version-detail
  /versions/<vid>/tests/[replay/]              designer-version-tests / -replay (?scenario=&record=)
  /versions/<vid>/files/<path>                 designer-version-file
  /versions/<vid>/export.zip                   designer-version-export
  /versions/<vid>/editor/                      designer-version-editor       (read-only editor)
  /versions/<vid>/diagram/                     designer-version-diagram
  /versions/<vid>/compare/?other=<vid>         designer-version-compare      (redirects to the diff)
  /versions/<a>/diff/<b>/                      designer-version-diff
  /versions/<vid>/share/                       designer-sharelink-create     (POST)
  /share/<id>/revoke/                          designer-sharelink-revoke     (POST)
  /s/<token>/                                  designer-sharelink-open
  /versions/<vid>/comments/                    designer-comment-create       (POST)
  /teams/                                      designer-team-list            (POST creates a team)
  /teams/<tid>/                                designer-team-detail
  /teams/<tid>/members/                        designer-membership-set       (POST, owner: role, or invite)
  /teams/<tid>/members/remove/                 designer-membership-remove    (POST, owner or self)
  /invitations/<iid>/{accept,decline}/         designer-invitation-accept / -decline (POST, the invitee)

Context of the frontend templates (put the data in `json_script`):
  designer/editor.html   project, version (or the draft's base), draft (draft mode only), payload
  designer/diagram.html  project, version, draft, payload
  payload: see views.version_page_data (same shape for both pages and modes).
  designer/visual_diff.html (included by version_diff.html): a, b, payload {a, b, urls {graph_a, graph_b, diff}}
API shapes are the output serializers of designer/serializers.py (documented at /api/schema/).
"""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from designer import api, authoring_api, scenario_api, scenario_views, views

urlpatterns = [
    # Pages
    path("projects/", views.project_list, name="designer-project-list"),
    path("projects/new/", views.project_new, name="designer-project-new"),
    path("projects/upload/", views.project_upload, name="designer-project-upload"),
    path("projects/<int:project_id>/", views.project_detail, name="designer-project-detail"),
    path("projects/<int:project_id>/upload/", views.version_upload, name="designer-version-upload"),
    path("projects/<int:project_id>/draft/", views.draft_detail, name="designer-draft-detail"),
    path("projects/<int:project_id>/draft/editor/", views.draft_editor, name="designer-draft-editor"),
    path("projects/<int:project_id>/draft/diagram/", views.draft_diagram, name="designer-draft-diagram"),
    path("projects/<int:project_id>/draft/start/", views.draft_start, name="designer-draft-start"),
    path("projects/<int:project_id>/draft/add/", views.draft_file_add, name="designer-draft-file-add"),
    path("projects/<int:project_id>/draft/rename/", views.draft_file_rename, name="designer-draft-file-rename"),
    path("projects/<int:project_id>/draft/delete/", views.draft_file_delete, name="designer-draft-file-delete"),
    path("projects/<int:project_id>/draft/entry/", views.draft_set_entry, name="designer-draft-set-entry"),
    path("projects/<int:project_id>/draft/save/", views.draft_save, name="designer-draft-save"),
    path("projects/<int:project_id>/draft/rebase/", views.draft_rebase, name="designer-draft-rebase"),
    path("projects/<int:project_id>/draft/discard/", views.draft_discard, name="designer-draft-discard"),
    path("projects/<int:project_id>/draft/tests/", scenario_views.draft_tests, name="designer-draft-tests"),
    path("projects/<int:project_id>/draft/tests/replay/", scenario_views.draft_replay, name="designer-draft-replay"),
    path("versions/<int:version_id>/tests/", scenario_views.version_tests, name="designer-version-tests"),
    path("versions/<int:version_id>/tests/replay/", scenario_views.version_replay, name="designer-version-replay"),
    path("versions/<int:version_id>/", views.version_detail, name="designer-version-detail"),
    path("versions/<int:version_id>/files/<path:path>", views.version_file, name="designer-version-file"),
    path("versions/<int:version_id>/export.zip", views.version_export, name="designer-version-export"),
    path("versions/<int:version_id>/editor/", views.version_editor, name="designer-version-editor"),
    path("versions/<int:version_id>/diagram/", views.version_diagram, name="designer-version-diagram"),
    path("versions/<int:version_id>/compare/", views.version_compare, name="designer-version-compare"),
    path("versions/<int:version_a>/diff/<int:version_b>/", views.version_diff, name="designer-version-diff"),
    path("versions/<int:version_id>/share/", views.sharelink_create, name="designer-sharelink-create"),
    path("share/<int:link_id>/revoke/", views.sharelink_revoke, name="designer-sharelink-revoke"),
    path("s/<str:token>/", views.sharelink_open, name="designer-sharelink-open"),
    path("versions/<int:version_id>/comments/", views.comment_create, name="designer-comment-create"),
    path("teams/", views.team_list, name="designer-team-list"),
    path("teams/<int:team_id>/", views.team_detail, name="designer-team-detail"),
    path("teams/<int:team_id>/members/", views.membership_set, name="designer-membership-set"),
    path("teams/<int:team_id>/members/remove/", views.membership_remove, name="designer-membership-remove"),
    path("invitations/<int:invitation_id>/accept/", views.invitation_accept, name="designer-invitation-accept"),
    path("invitations/<int:invitation_id>/decline/", views.invitation_decline, name="designer-invitation-decline"),
    # JSON API
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[]), name="designer-api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="designer-api-schema", permission_classes=[]),
        name="designer-api-docs",
    ),
    path("api/teams", api.team_list, name="designer-api-team-list"),
    path("api/projects", api.project_list, name="designer-api-project-list"),
    path("api/projects/<int:project_id>", api.project_detail, name="designer-api-project-detail"),
    path("api/projects/<int:project_id>/versions", api.version_list, name="designer-api-version-list"),
    path("api/projects/<int:project_id>/draft", api.draft_detail, name="designer-api-draft"),
    path("api/projects/<int:project_id>/draft/files", api.draft_files, name="designer-api-draft-files"),
    path("api/projects/<int:project_id>/draft/files/<path:path>", api.draft_file, name="designer-api-draft-file"),
    path("api/projects/<int:project_id>/draft/rename", api.draft_rename, name="designer-api-draft-rename"),
    path("api/projects/<int:project_id>/draft/delete", api.draft_delete, name="designer-api-draft-delete"),
    path("api/projects/<int:project_id>/draft/entry", api.draft_entry, name="designer-api-draft-entry"),
    path("api/projects/<int:project_id>/draft/save", api.draft_save, name="designer-api-draft-save"),
    path("api/projects/<int:project_id>/draft/rebase", api.draft_rebase, name="designer-api-draft-rebase"),
    path("api/projects/<int:project_id>/draft/discard", api.draft_discard, name="designer-api-draft-discard"),
    path("api/projects/<int:project_id>/draft/graph", api.draft_graph, name="designer-api-draft-graph"),
    path("api/projects/<int:project_id>/draft/lint", api.draft_lint, name="designer-api-draft-lint"),
    path(
        "api/projects/<int:project_id>/draft/diagram-layout",
        api.draft_diagram_layout,
        name="designer-api-draft-diagram-layout",
    ),
    path("api/versions/<int:version_id>", api.version_detail, name="designer-api-version-detail"),
    path("api/versions/<int:version_id>/files/<path:path>", api.version_file, name="designer-api-version-file"),
    path("api/versions/<int:version_id>/export", api.version_export, name="designer-api-version-export"),
    path("api/versions/<int:version_id>/graph", api.version_graph, name="designer-api-version-graph"),
    path("api/versions/<int:version_id>/layout", api.version_layout, name="designer-api-version-layout"),
    path("api/fonts", api.font_table, name="designer-api-fonts"),
    path("api/versions/<int:version_id>/lint", api.version_lint, name="designer-api-version-lint"),
    path("api/versions/<int:version_a>/diff/<int:version_b>", api.version_diff, name="designer-api-version-diff"),
    path("api/versions/<int:version_id>/comments", api.comment_list, name="designer-api-comment-list"),
    path("api/versions/<int:version_id>/share-links", api.sharelink_list, name="designer-api-sharelink-list"),
    path("api/share-links/<int:link_id>", api.sharelink_detail, name="designer-api-sharelink-detail"),
    # Scenarios (designer/scenario_api.py)
    path(
        "api/versions/<int:version_id>/scenarios", scenario_api.version_scenarios, name="designer-api-version-scenarios"
    ),
    path(
        "api/projects/<int:project_id>/draft/scenarios",
        scenario_api.draft_scenarios,
        name="designer-api-draft-scenarios",
    ),
    path(
        "api/projects/<int:project_id>/draft/scenarios/validate",
        scenario_api.draft_scenario_validate,
        name="designer-api-draft-scenario-validate",
    ),
    path(
        "api/simulations/<int:simulation_id>/scenario",
        scenario_api.simulation_scenario,
        name="designer-api-simulation-scenario",
    ),
    # Visual authoring (designer/authoring_api.py)
    path("api/authoring/palette", authoring_api.palette, name="designer-api-authoring-palette"),
    path("api/projects/<int:project_id>/draft/edit", authoring_api.draft_edit, name="designer-api-draft-edit"),
    path("api/projects/<int:project_id>/draft/layout", authoring_api.draft_layout, name="designer-api-draft-layout"),
]
