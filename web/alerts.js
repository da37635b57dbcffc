// The overview's alert panel: the app's alert rules with their state and latest transitions,
// read from GET /api/apps/{app}/alerts with the session cookie and rendered as text only
// (rule names, filters and values come from users). Refreshed every 30 s, the default
// evaluation interval.
"use strict";

(() => {
  const { el, api, appPath, fmtTime, fmtNum } = LD;
  const app = LD.appName();
  const panel = document.getElementById("alerts-panel");
  if (!panel || !app) return;
  const body = panel.querySelector("tbody");
  const TRANSITIONS = 5;

  /** A rule's value or threshold in its kind's unit: a share as %, latency in ms. */
  function amount(kind, v) {
    if (v === null || v === undefined) return "no data";
    if (kind === "rate") return fmtNum(100 * v, 2) + "%";
    if (kind === "latency") return fmtNum(v, 0) + " ms";
    return fmtNum(v, 0);
  }

  function span(secs) {
    if (secs % 3600 === 0) return secs / 3600 + "h";
    if (secs % 60 === 0) return secs / 60 + "m";
    return secs + "s";
  }

  function row(r) {
    const snoozed = r.snooze_until && Date.parse(r.snooze_until) > Date.now();
    const what = r.kind + " over " + span(r.window_secs) + (r.filter ? " · " + r.filter : "");
    const history = (r.history || []).slice(0, TRANSITIONS);
    return el("tr", { class: "alert-" + r.state, dataset: { rule: r.name, state: r.state } },
      el("td", {},
        el("div", { class: "alert-name" }, r.name),
        el("div", { class: "muted small" }, what)),
      el("td", {},
        el("span", { class: "chip state-" + r.state }, r.state),
        snoozed ? el("div", { class: "muted small" }, "snoozed until " + fmtTime(r.snooze_until, false)) : null),
      el("td", { class: "nowrap" }, fmtTime(r.state_since, false)),
      el("td", { class: "num nowrap" },
        amount(r.kind, r.value) + (r.kind === "absence" ? " < " : " ≥ ") + amount(r.kind, r.threshold)),
      el("td", {},
        history.length
          ? el("ul", { class: "transitions" }, history.map((h) =>
            el("li", {}, fmtTime(h.at, false) + "  " + h.from + " → " + h.to)))
          : el("span", { class: "muted" }, "none yet")));
  }

  async function load() {
    try {
      const r = await api(appPath(app, "alerts"));
      const rules = r.alerts || [];
      // Firing first, then pending, then the rest by name.
      const rank = { firing: 0, pending: 1, resolved: 2, ok: 3 };
      rules.sort((a, b) => (rank[a.state] ?? 4) - (rank[b.state] ?? 4) || a.name.localeCompare(b.name));
      body.replaceChildren(...rules.map(row));
      if (!rules.length) {
        body.append(el("tr", {}, el("td", { colspan: 5, class: "muted" },
          "No alert rules for this app (see docs/ALERTS.md).")));
      }
      const firing = rules.filter((x) => x.state === "firing").length;
      panel.querySelector(".alerts-summary").textContent =
        firing ? firing + " firing" : rules.length ? "none firing" : "";
      panel.classList.toggle("has-firing", firing > 0);
    } catch (e) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: 5, class: "error" },
        "Could not load the alert rules: " + e.message)));
    }
    panel.dataset.loaded = String(Number(panel.dataset.loaded || 0) + 1);
  }

  load();
  setInterval(load, 30000);
})();
