/*
 * "Save as scenario" on the simulation page (owner only): asks the designer API for the scenario
 * replaying this run (GET data-url: its saved operations log and trace; the page saves the log
 * within seconds of every operation) with the assertions proposed from it (outcome, target, final
 * state, states entered, requests, errors, time). The user ticks the assertions to keep, may edit
 * the JSON, validates it as the CLI does (problems at their JSON path) and saves it into their
 * draft (POST data-url). The script tag carries data-url and data-validate-url.
 */
(function () {
  "use strict";

  const script = document.currentScript;
  const config = JSON.parse(document.getElementById("simulation-config").textContent);
  if (config.readonly || !script) return;
  const url = script.dataset.url;
  const validateUrl = script.dataset.validateUrl;
  const ow = window.orchweb;

  const button = document.createElement("button");
  button.type = "button";
  button.id = "sim-save-scenario";
  button.textContent = "Save as scenario";
  (document.querySelector(".sim-header") || document.body).appendChild(button);

  const dialog = document.createElement("dialog");
  dialog.id = "save-scenario";
  dialog.setAttribute("aria-label", "Save as scenario");
  dialog.innerHTML =
    "<form method='dialog' class='ow-form'>" +
    "<h2>Save this run as a scenario</h2>" +
    "<p class='ow-muted'>The run's injected events and answers become the timeline; tick the assertions to keep.</p>" +
    "<label>File in your draft <input type='text' id='save-scenario-path' size='40'></label>" +
    "<fieldset><legend>Assertions</legend><div id='save-scenario-assertions'></div></fieldset>" +
    "<label for='save-scenario-json'>Scenario (JSON, editable)</label>" +
    "<textarea id='save-scenario-json' rows='14' cols='80' spellcheck='false'></textarea>" +
    "<ul id='save-scenario-problems' class='ow-error' role='alert'></ul>" +
    "<p id='save-scenario-result' role='status'></p>" +
    "<button type='button' id='save-scenario-validate'>Validate</button> " +
    "<button type='button' id='save-scenario-save' class='ow-button'>Save to my draft</button> " +
    "<button value='cancel'>Close</button></form>";
  document.body.appendChild(dialog);
  const $ = (id) => document.getElementById(id);
  let proposal = null;

  function compose() {
    const scenario = Object.assign({}, proposal.scenario);
    scenario.expect = Array.from($("save-scenario-assertions").querySelectorAll("input"))
      .filter((box) => box.checked)
      .map((box) => proposal.assertions[Number(box.value)].assertion);
    $("save-scenario-json").value = JSON.stringify(scenario, null, 2);
  }

  function showProblems(problems) {
    ow.showItems($("save-scenario-problems"), problems);
  }

  function current() {
    try {
      return { value: JSON.parse($("save-scenario-json").value) };
    } catch (e) {
      return { text: $("save-scenario-json").value };
    }
  }

  async function open() {
    $("save-scenario-result").textContent = "";
    showProblems([]);
    const answer = await ow.fetchJSON(url);
    if (!answer.ok) {
      showProblems([ow.errorText(answer)]);
      dialog.showModal();
      return;
    }
    proposal = answer.json;
    $("save-scenario-path").value = proposal.path;
    const box = $("save-scenario-assertions");
    box.textContent = "";
    proposal.assertions.forEach((item, i) => {
      const label = document.createElement("label");
      label.className = "save-scenario-assertion";
      const input = document.createElement("input");
      input.type = "checkbox";
      input.value = String(i);
      input.checked = true;
      input.addEventListener("change", compose);
      label.append(input, " " + item.label);
      box.append(label, document.createElement("br"));
    });
    compose();
    dialog.showModal();
  }

  async function validate() {
    const c = current();
    const answer = await ow.fetchJSON(validateUrl, { method: "POST", body: { scenario: c.value !== undefined ? c.value : c.text } });
    const problems = answer.ok ? answer.json.problems : [ow.errorText(answer)];
    showProblems(problems);
    $("save-scenario-result").textContent = problems.length ? "" : "Valid.";
    return problems.length === 0;
  }

  async function save() {
    if (!(await validate())) return;
    const answer = await ow.fetchJSON(url, {
      method: "POST",
      body: { path: $("save-scenario-path").value, scenario: current().value },
    });
    if (!answer.ok) {
      showProblems(answer.json.problems || [ow.errorText(answer)]);
      return;
    }
    const result = $("save-scenario-result");
    result.textContent = "Saved " + answer.json.path + " in your draft. ";
    const link = document.createElement("a");
    link.href = answer.json.tests;
    link.id = "save-scenario-tests";
    link.textContent = "Run it on the draft's Tests tab";
    result.appendChild(link);
  }

  button.addEventListener("click", open);
  $("save-scenario-validate").addEventListener("click", validate);
  $("save-scenario-save").addEventListener("click", save);
})();
