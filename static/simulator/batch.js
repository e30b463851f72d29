/*
 * Batch page (templates/simulator/batch.html). The json_script #batch-config is the run's API
 * detail JSON (status, done, count, vary, fakes, report, urls {ws, report_json...}); the diagram's
 * graph URL is #batch-diagram's data-graph-url: JS builds no URL.
 *
 * - While the run is queued or running, the progress bar follows the websocket ws/batches/<id>/
 *   ({type: "progress", status, done, count}, then {type: "finished", status, done, count, error}).
 * - Once it has ended, its report (run_batch's summary: config.report, or urls.report_json's
 *   `report` for a run that ends while the page is open) is drawn with Chart.js (vendored):
 *   outcomes, time to route, routed per target, outcomes per varied value; each chart has a data
 *   table beside its canvas (the accessible form of the chart, and what tests read), and the
 *   coverage visit counts are drawn as heat on the diagram (Diagram.renderHeat, as on the Tests tab).
 *
 * Readiness flags on <body>: batchStatus, batchDone, batchProgress (percent), batchConnected,
 * batchReportReady = "1" when the charts are drawn ("none" when the run has no report);
 * #batch-diagram gets heatReady = "1". Each chart's figure gets data-chart-ready = "1".
 */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("batch-config").textContent);
  const body = document.body;
  const $ = (id) => document.getElementById(id);
  const ENDED = ["done", "cancelled", "failed", "interrupted"];
  const STATUS_LABELS = {
    queued: "Queued",
    running: "Running",
    done: "Done",
    cancelled: "Cancelled",
    failed: "Failed",
    interrupted: "Interrupted",
  };
  const OUTCOME_COLOURS = {
    routed: "#16a34a",
    abandoned: "#d97706",
    terminated: "#64748b",
    waiting: "#2563eb",
    error: "#dc2626",
  };
  const OTHER_COLOURS = ["#7c3aed", "#0e7490", "#be123c", "#4d7c0f", "#9a3412"];
  const MAX_BARS = 20;

  function colourOf(outcome, index) {
    return OUTCOME_COLOURS[outcome] || OTHER_COLOURS[index % OTHER_COLOURS.length];
  }

  // -- status and progress ---------------------------------------------------------------------

  function showProgress(status, done, count) {
    const percent = count ? Math.floor((100 * done) / count) : 0;
    $("batch-progress").max = count;
    $("batch-progress").value = done;
    $("batch-progress-text").textContent = done + " / " + count + " (" + percent + "%)";
    const badge = $("batch-status");
    badge.textContent = STATUS_LABELS[status] || status;
    badge.className = "batch-status batch-status-" + status;
    body.dataset.batchStatus = status;
    body.dataset.batchDone = String(done);
    body.dataset.batchProgress = String(percent);
    const cancel = $("batch-cancel-form");
    if (cancel && ENDED.includes(status)) cancel.hidden = true;
  }

  function follow() {
    let ended = false;
    const ws = new WebSocket(window.orchweb.websocketUrl(config.urls.ws));
    ws.addEventListener("open", () => {
      body.dataset.batchConnected = "1";
    });
    ws.addEventListener("close", (event) => {
      body.dataset.batchConnected = "0";
      if (!ended && !$("batch-error").textContent) {
        $("batch-error").textContent = "The live progress stopped (connection closed, " + event.code + "): reload the page.";
      }
    });
    const end = () => {
      ended = true;
      ws.close();
      loadReport();
    };
    ws.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "progress") {
        showProgress(frame.status, frame.done, frame.count);
      } else if (frame.type === "finished") {
        $("batch-error").textContent = frame.error || "";
        showProgress(frame.status, frame.done, frame.count);
        end();
      } else if (frame.type === "error") {
        $("batch-error").textContent = frame.message || "The live progress is not available (" + frame.code + ").";
      }
    });
  }

  // -- the report ------------------------------------------------------------------------------

  /** A <table> of the chart's numbers: one row per label, one column per series. */
  function dataTable(caption, labels, series) {
    const table = document.createElement("table");
    table.className = "ow-table batch-data";
    const cap = table.createCaption();
    cap.textContent = caption;
    const head = table.createTHead().insertRow();
    for (const name of ["", ...series.map((s) => s.label)]) {
      const th = document.createElement("th");
      th.textContent = name;
      head.appendChild(th);
    }
    const rows = table.createTBody();
    labels.forEach((label, i) => {
      const row = rows.insertRow();
      row.dataset.label = label;
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = label;
      row.appendChild(th);
      for (const s of series) row.insertCell().textContent = String(s.data[i]);
    });
    return table;
  }

  /**
   * Draws a bar chart in `figure` (after its caption) with its data table in a <details>.
   * series: [{label, data: [n per label], colour | colours}]; options: {stacked, horizontal}.
   */
  function barChart(figure, labels, series, options) {
    const opts = options || {};
    const caption = figure.querySelector("figcaption").textContent;
    const box = document.createElement("div");
    box.className = "batch-chart-box";
    const canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", caption + ": " + labels.map((l, i) => l + " " + series.map((s) => s.data[i]).join("/")).join(", "));
    box.appendChild(canvas);
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = "Data";
    details.append(summary, dataTable(caption, labels, series));
    figure.append(box, details);
    const chart = new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: labels,
        datasets: series.map((s) => ({
          label: s.label,
          data: s.data,
          backgroundColor: s.colours || s.colour,
          barPercentage: opts.histogram ? 1.0 : 0.9,
          categoryPercentage: opts.histogram ? 1.0 : 0.8,
        })),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: opts.horizontal ? "y" : "x",
        scales: {
          x: { stacked: !!opts.stacked, title: { display: !!opts.xTitle, text: opts.xTitle || "" } },
          y: { stacked: !!opts.stacked, beginAtZero: true },
        },
        plugins: { legend: { display: series.length > 1 } },
      },
    });
    figure.dataset.chartReady = "1";
    figure.dataset.labels = JSON.stringify(labels);
    return chart;
  }

  function note(figure, text) {
    const p = document.createElement("p");
    p.className = "ow-muted";
    p.textContent = text;
    figure.appendChild(p);
    figure.dataset.chartReady = "1";
  }

  /** Sorted by count, the tail summed as "others" (a long list of targets stays readable). */
  function topEntries(counts) {
    const entries = Object.entries(counts || {}).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    if (entries.length <= MAX_BARS) return entries;
    const rest = entries.slice(MAX_BARS - 1).reduce((sum, e) => sum + e[1], 0);
    return entries.slice(0, MAX_BARS - 1).concat([["(" + (entries.length - MAX_BARS + 1) + " others)", rest]]);
  }

  const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

  /** A varied value as people read it (by_variation labels are the values' JSON). */
  function valueLabel(key, label) {
    let value = label;
    try {
      value = JSON.parse(label);
    } catch (_) {
      return key === "time.now" ? timeLabel(label) : label;
    }
    if (key === "queue.available") return value ? "agent available" : "no agent available";
    if (key === "inject" && Array.isArray(value)) {
      if (!value.length) return "caller stays";
      return value.map((e) => e.event + (e.at !== undefined ? " at " + e.at + " s" : "")).join(", ");
    }
    if (key === "http.default" && value && typeof value === "object") {
      return value.status === undefined ? "web requests answer" : "web requests fail (" + value.status + ")";
    }
    if (key === "queue.delay" && typeof value === "number") return value + " s";
    return typeof value === "string" ? value : label;
  }

  function timeLabel(text) {
    const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}:\d{2})/.exec(text);
    if (!match) return text;
    const day = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))).getUTCDay();
    return WEEKDAYS[day] + " " + match[4];
  }

  function drawOutcomes(report) {
    const entries = Object.entries(report.outcomes || {});
    const figure = $("batch-chart-outcomes");
    if (!entries.length) return note(figure, "No interaction finished.");
    barChart(
      figure,
      entries.map((e) => e[0]),
      [{ label: "Interactions", data: entries.map((e) => e[1]), colours: entries.map((e, i) => colourOf(e[0], i)) }],
    );
  }

  function drawTimeToRoute(report) {
    const figure = $("batch-chart-time");
    const histogram = report.time_to_route;
    if (!histogram || !histogram.counts || !histogram.counts.some((n) => n > 0)) {
      return note(figure, "No interaction was routed.");
    }
    const w = histogram.bucket_seconds;
    const round = (x) => Math.round(x * 1000) / 1000;
    const labels = histogram.counts.map((_, i) => round(i * w) + "–" + round((i + 1) * w) + " s");
    barChart(figure, labels, [{ label: "Routed interactions", data: histogram.counts, colour: OUTCOME_COLOURS.routed }], {
      histogram: true,
      xTitle: "virtual seconds to route",
    });
    if (histogram.p50 !== undefined) note(figure, "Median " + histogram.p50 + " s, p95 " + histogram.p95 + " s.");
  }

  function drawTargets(report) {
    const figure = $("batch-chart-targets");
    const entries = topEntries(report.targets);
    if (!entries.length) return note(figure, "No interaction was routed.");
    barChart(figure, entries.map((e) => e[0]), [{ label: "Routed", data: entries.map((e) => e[1]), colour: "#2563eb" }], {
      horizontal: true,
    });
  }

  function drawVariations(report) {
    const keys = Object.keys(report.by_variation || {});
    if (!keys.length) return;
    $("batch-variations").hidden = false;
    const outcomes = Object.keys(report.outcomes || {});
    for (const key of keys) {
      const counts = Object.assign({}, report.by_variation[key]);
      let values = Object.keys(counts);
      if (values.length > MAX_BARS) {
        // the most frequent values, the rest summed per outcome (a list of 1,000 ANIs stays readable)
        const total = (v) => Object.values(counts[v]).reduce((a, b) => a + b, 0);
        values.sort((a, b) => total(b) - total(a));
        const rest = values.slice(MAX_BARS - 1);
        const others = "(" + rest.length + " others)";
        counts[others] = {};
        for (const v of rest) {
          for (const [outcome, n] of Object.entries(counts[v])) counts[others][outcome] = (counts[others][outcome] || 0) + n;
        }
        values = values.slice(0, MAX_BARS - 1).concat([others]);
      }
      const figure = document.createElement("figure");
      figure.className = "batch-chart";
      figure.dataset.key = key;
      const caption = document.createElement("figcaption");
      caption.textContent = key;
      figure.appendChild(caption);
      $("batch-variation-charts").appendChild(figure);
      barChart(
        figure,
        values.map((v) => valueLabel(key, v)),
        outcomes.map((outcome, i) => ({
          label: outcome,
          data: values.map((v) => counts[v][outcome] || 0),
          colour: colourOf(outcome, i),
        })),
        { stacked: true },
      );
    }
  }

  function drawCoverage(report) {
    const coverage = report.coverage;
    if (!coverage) {
      $("batch-coverage-summary").textContent = "This batch ran without coverage.";
      return;
    }
    const s = coverage.states;
    const t = coverage.transitions;
    $("batch-coverage-summary").textContent =
      "States " + s.covered + "/" + s.total + " (" + s.percent + "%), transitions " + t.covered + "/" + t.total +
      " (" + t.percent + "%) over " + coverage.runs + " interactions.";
    const items = s.uncovered.map((u) => u.file + ":" + u.line + " state " + u.id + " never entered");
    for (const u of t.uncovered) {
      items.push(
        u.file + ":" + u.line + " transition " + u.source + (u.targets && u.targets.length ? " → " + u.targets.join(" ") : "") +
          (u.event ? " on " + u.event : "") + " never taken" + (u.hint ? " (hint: " + u.hint + ")" : ""),
      );
    }
    window.orchweb.showItems($("batch-uncovered"), items);
    const diagram = $("batch-diagram");
    return Diagram.renderHeat(diagram, diagram.dataset.graphUrl, report.heat);
  }

  function drawSummary(report) {
    const parts = [report.count + " interactions" + (report.cancelled ? " (cancelled: the figures cover those run)" : "")];
    const time = report.virtual_time;
    if (time) parts.push("virtual time per interaction: median " + time.p50 + " s, p95 " + time.p95 + " s, max " + time.max + " s");
    if (report.errors && report.errors.sessions) parts.push(report.errors.sessions + " with errors");
    $("batch-summary").textContent = parts.join(" · ");
  }

  let reportLoading = false;

  async function loadReport() {
    if (reportLoading) return;
    reportLoading = true;
    const answer = await window.orchweb.fetchJSON(config.urls.report_json);
    if (answer.ok && answer.json.report) {
      await drawReport(answer.json.report);
    } else {
      body.dataset.batchReportReady = "none"; // a failed or interrupted run has no report
      if (!answer.ok) $("batch-error").textContent = window.orchweb.errorText(answer);
    }
  }

  async function drawReport(report) {
    $("batch-report").hidden = false;
    drawSummary(report);
    drawOutcomes(report);
    drawTimeToRoute(report);
    drawTargets(report);
    drawVariations(report);
    body.dataset.batchReportReady = "1";
    await drawCoverage(report);
  }

  $("batch-settings-vary").textContent = JSON.stringify(config.vary || {}, null, 1);
  $("batch-settings-fakes").textContent = JSON.stringify(config.fakes || {}, null, 1);
  showProgress(config.status, config.done, config.count);
  if (!ENDED.includes(config.status)) follow();
  else if (config.report) drawReport(config.report);
  else body.dataset.batchReportReady = "none";
})();
