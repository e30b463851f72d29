// The "Assumed data" panel (templates/simulator/_assumptions.html): one item per `assumption`
// trace record (docs/trace.md), each with "Add to the fakes profile", which writes the asked key
// into the fakes editor (#sim-fakes) with the default the simulation used, opens the editor and
// selects the key. The records come from the simulation page (window.simulationPage.records()).
(function () {
  "use strict";
  const list = document.getElementById("sim-assumptions");
  if (!list) return;
  let shown = null; // the records array last rendered, and its length
  let shownLength = -1;

  function asked(a) {
    return Object.keys(a.asked)
      .map((k) => a.asked[k])
      .join(" / ");
  }

  function pathText(fakes) {
    return fakes.path.map((p) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(p) ? "." + p : "[" + JSON.stringify(p) + "]")).join("").slice(1) + (fakes.append ? "[+]" : "");
  }

  // Set fakes.value at fakes.path in the profile (append it when fakes.append); returns the key written.
  function addTo(profile, fakes) {
    let node = profile;
    const path = fakes.path;
    for (let i = 0; i < path.length - 1; i++) {
      const key = path[i];
      if (node[key] === null || typeof node[key] !== "object" || Array.isArray(node[key])) node[key] = {};
      node = node[key];
    }
    const last = path[path.length - 1];
    if (fakes.append) {
      if (!Array.isArray(node[last])) node[last] = [];
      node[last].push(fakes.value);
    } else {
      node[last] = fakes.value;
    }
    return fakes.append && fakes.value && fakes.value.url ? fakes.value.url : last;
  }

  function add(a) {
    const area = document.getElementById("sim-fakes");
    let profile = {};
    const text = area.value.trim();
    if (text) {
      try {
        profile = JSON.parse(text);
      } catch (err) {
        document.body.dataset.simAssumptionError = "The fakes profile is not valid JSON: " + err.message;
        return;
      }
    }
    if (profile === null || typeof profile !== "object" || Array.isArray(profile)) profile = {};
    const key = addTo(profile, a.fakes);
    area.value = JSON.stringify(profile, null, 2);
    document.getElementById("sim-fakes-panel").open = true;
    area.focus(); // the page does not overwrite a focused editor with the next snapshot's profile
    const at = area.value.indexOf(JSON.stringify(key));
    if (at >= 0) area.setSelectionRange(at, at + JSON.stringify(key).length);
    document.body.dataset.simAssumptionAdded = a.what + ":" + pathText(a.fakes);
  }

  function item(a) {
    const li = document.createElement("li");
    li.className = "sim-assumption";
    li.dataset.what = a.what;
    const text = document.createElement("span");
    text.textContent = a.what + " " + asked(a) + (a.line ? " (line " + a.line + ")" : "") + ": assumed " + JSON.stringify(a.used) + " ";
    const where = document.createElement("code");
    where.textContent = pathText(a.fakes);
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Add to the fakes profile";
    button.addEventListener("click", () => add(a));
    li.append(text, where, " ", button);
    return li;
  }

  function render(records) {
    const found = records.filter((r) => r.type === "assumption");
    list.replaceChildren(...found.map(item));
    if (!found.length) {
      const none = document.createElement("li");
      none.className = "ow-muted";
      none.textContent = "Nothing assumed so far.";
      list.appendChild(none);
    }
    document.getElementById("sim-assumptions-count").textContent = String(found.length);
    document.body.dataset.simAssumptions = String(found.length);
  }

  // The page replaces its records array on a reset and appends on trace frames: re-render on either.
  function poll() {
    const page = window.simulationPage;
    const records = page && page.records ? page.records() : [];
    if (records !== shown || records.length !== shownLength) {
      shown = records;
      shownLength = records.length;
      render(records);
    }
  }
  window.setInterval(poll, 250);
  poll();
})();
