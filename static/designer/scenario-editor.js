/*
 * Scenario editor of the draft's Tests tab (#scenario-editor: data-files-url, data-validate-url):
 * open a scenarios/*.json file of the draft, edit its JSON, validate it as the CLI does (the
 * problems come back as "<json path>: <what is wrong>") and save it (only when valid).
 */
(function () {
  "use strict";

  const box = document.getElementById("scenario-editor");
  if (!box) return;
  const ow = window.orchweb;
  const $ = (id) => document.getElementById(id);
  const fileUrl = () => box.dataset.filesUrl + "/" + $("scenario-editor-path").value.split("/").map(encodeURIComponent).join("/");

  function show(problems, text) {
    ow.showItems($("scenario-editor-problems"), problems);
    $("scenario-editor-result").textContent = text || "";
  }

  async function load() {
    const answer = await ow.fetchJSON(fileUrl());
    if (!answer.ok) return show([ow.errorText(answer)]);
    $("scenario-editor-text").value = answer.json.content;
    show([], "Opened " + $("scenario-editor-path").value + ".");
  }

  async function validate() {
    const answer = await ow.fetchJSON(box.dataset.validateUrl, {
      method: "POST",
      body: { scenario: $("scenario-editor-text").value },
    });
    const problems = answer.ok ? answer.json.problems : [ow.errorText(answer)];
    show(problems, problems.length ? "" : "Valid.");
    return problems.length === 0;
  }

  async function save() {
    const path = $("scenario-editor-path").value;
    if (!/^scenarios\/[^/]+\.json$/.test(path)) return show(["A scenario lives in scenarios/<name>.json."]);
    if (!(await validate())) return;
    const answer = await ow.fetchJSON(fileUrl(), { method: "PUT", body: { content: $("scenario-editor-text").value } });
    if (!answer.ok) return show([ow.errorText(answer)]);
    show([], "Saved " + path + " in your draft: reload the tab to run it.");
  }

  $("scenario-editor-load").addEventListener("click", load);
  $("scenario-editor-validate").addEventListener("click", validate);
  $("scenario-editor-save").addEventListener("click", save);
})();
