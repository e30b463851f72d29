/*
 * Version page, "Batch simulation" form (templates/simulator/_batch_section.html): the friendly
 * fields (data-vary, no name) write the `vary` spec of simulator/runners/batch.py into the
 * advanced JSON box (#batch-vary, the one field the server reads). Each group of fields owns one
 * key and rewrites only that key when one of its fields changes, so keys typed by hand are kept.
 * A submit with bad input is stopped with a message. Readiness: body.dataset.batchFormReady = "1".
 */
(function () {
  "use strict";

  const form = document.getElementById("batch-form");
  if (!form) return;
  const box = document.getElementById("batch-vary");
  const errorEl = document.getElementById("batch-form-error");
  const field = (name) => form.querySelector('[data-vary="' + name + '"]');
  const text = (name) => field(name).value.trim();
  // The week of the fakes' default clock (Monday 2026-01-05): day d is 2026-01-(05 + d).
  const WEEK_START_DAY = 5;

  class InputError extends Error {}

  function percent(name, label) {
    const raw = text(name);
    if (raw === "") return null;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0 || n > 100) throw new InputError(label + ": give a percentage from 0 to 100.");
    return n;
  }

  /** "a, b:3, c" -> {values, weights|null}; `convert` turns each value's text into its JSON value. */
  function weightedList(name, label, convert) {
    const raw = text(name);
    if (raw === "") return null;
    const values = [];
    const weights = [];
    for (const item of raw.split(",").map((s) => s.trim()).filter(Boolean)) {
      const cut = item.lastIndexOf(":");
      const value = cut < 0 ? item : item.slice(0, cut).trim();
      const weight = cut < 0 ? 1 : Number(item.slice(cut + 1));
      if (!Number.isFinite(weight) || weight < 0) throw new InputError(label + ": the weight of '" + value + "' is not a number.");
      values.push(convert(value, label));
      weights.push(weight);
    }
    if (!values.length) return null;
    return { values: values, weights: weights.every((w) => w === 1) ? null : weights };
  }

  function seconds(value, label) {
    const n = Number(value);
    if (value === "" || !Number.isFinite(n) || n < 0) throw new InputError(label + ": '" + value + "' is not a number of seconds.");
    return n;
  }

  const asText = (value) => value;
  const spec = (list) => (list.weights ? { values: list.values, weights: list.weights } : list.values);

  function hourOfDay(value) {
    const match = /^(\d{1,2})(?::(\d{2}))?$/.exec(value);
    if (!match || Number(match[1]) > 23 || Number(match[2] || 0) > 59) {
      throw new InputError("Time of day: '" + value + "' is not an hour (8, 13:30...).");
    }
    return match[1].padStart(2, "0") + ":" + (match[2] || "00");
  }

  /** One group per varied key: its fields, and the value it asks for (undefined: not varied). */
  const GROUPS = [
    {
      key: "queue.available",
      fields: ["available"],
      build() {
        const p = percent("available", "Agents available");
        return p === null ? undefined : { values: [true, false], weights: [p, 100 - p] };
      },
    },
    {
      key: "queue.delay",
      fields: ["agent-delay"],
      build() {
        const list = weightedList("agent-delay", "Agent found after", seconds);
        return list ? spec(list) : undefined;
      },
    },
    {
      key: "inject",
      fields: ["abandon", "hangup", "leave-after"],
      build() {
        const abandon = percent("abandon", "Callers who abandon") || 0;
        const hangup = percent("hangup", "Callers who hang up") || 0;
        if (!abandon && !hangup) return undefined;
        if (abandon + hangup > 100) throw new InputError("Callers who abandon and hang up: together at most 100%.");
        const times = (text("leave-after") || "10").split(",").map((s) => s.trim()).filter(Boolean)
          .map((s) => seconds(s, "Hang up after"));
        const values = [[]];
        const weights = [100 - abandon - hangup];
        for (const [event, share] of [["abandon", abandon], ["hangup", hangup]]) {
          if (!share) continue;
          for (const at of times) {
            values.push([{ event: event, at: at }]);
            weights.push(share / times.length);
          }
        }
        return { values: values, weights: weights };
      },
    },
    {
      key: "http.default",
      fields: ["fetch-fail", "fetch-status"],
      build() {
        const p = percent("fetch-fail", "Web requests failing");
        if (p === null) return undefined;
        const status = Number(text("fetch-status") || 500);
        if (!Number.isInteger(status) || status < 0 || status > 599) throw new InputError("HTTP status: give a status code (500, 404, 0...).");
        return { values: [{}, { status: status }], weights: [100 - p, p] };
      },
    },
    {
      key: "dialog.digits",
      fields: ["digits"],
      build() {
        const list = weightedList("digits", "Digits callers type", asText);
        return list ? spec(list) : undefined;
      },
    },
    {
      key: "time.now",
      fields: ["hours", "day"],
      build() {
        const raw = text("hours");
        const hours = raw ? raw.split(",").map((s) => s.trim()).filter(Boolean).map(hourOfDay) : [];
        const days = Array.from(form.querySelectorAll('[data-vary="day"]:checked')).map((c) => Number(c.value));
        if (!hours.length && !days.length) return undefined;
        const values = [];
        for (const day of days.length ? days : [0]) {
          for (const hour of hours.length ? hours : ["10:00"]) {
            values.push("2026-01-" + String(WEEK_START_DAY + day).padStart(2, "0") + "T" + hour + ":00");
          }
        }
        return values;
      },
    },
    {
      key: "ani",
      fields: ["ani"],
      build() {
        const list = weightedList("ani", "Caller numbers", asText);
        return list ? spec(list) : undefined;
      },
    },
  ];

  function showError(message) {
    errorEl.textContent = message || "";
    errorEl.hidden = !message;
  }

  function readBox() {
    let data;
    try {
      data = JSON.parse(box.value.trim() || "{}");
    } catch (err) {
      throw new InputError("The vary JSON is not valid: " + err.message);
    }
    if (data === null || typeof data !== "object" || Array.isArray(data)) {
      throw new InputError("The vary JSON must be an object: {\"fakes.path\": [values], ...}.");
    }
    return data;
  }

  /** One varied key per line: readable, and short enough to edit by hand. */
  function formatVary(data) {
    const lines = Object.entries(data).map(([key, value]) => " " + JSON.stringify(key) + ": " + JSON.stringify(value));
    return lines.length ? "{\n" + lines.join(",\n") + "\n}" : "{}";
  }

  function apply(group) {
    const data = readBox();
    const value = group.build();
    if (value === undefined) delete data[group.key];
    else data[group.key] = value;
    box.value = formatVary(data);
  }

  function onChange(event) {
    const name = event.target.dataset ? event.target.dataset.vary : null;
    const group = GROUPS.find((g) => g.fields.includes(name));
    if (!group) return;
    try {
      apply(group);
      showError("");
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      showError(err.message);
    }
  }

  form.addEventListener("input", onChange);
  form.addEventListener("change", onChange);
  form.addEventListener("submit", (event) => {
    try {
      for (const group of GROUPS) group.build(); // every field still valid
      readBox();
      showError("");
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      showError(err.message);
      event.preventDefault();
    }
  });
  document.body.dataset.batchFormReady = "1";
})();
