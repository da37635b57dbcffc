// The app overview (/apps/{app}): every number read from the query API (stats/requests,
// stats/errors, metrics, events, loss) for the chosen range, drawn with charts.js. The range
// (?range=6h) or the zoomed window (?since=…&until=…) is kept in the URL.
"use strict";

(() => {
  const { el, api, appPath, fmtTime, fmtNum, header, setStatus } = LD;
  const app = LD.appName();
  header(app, "overview");

  const RANGES = { "1h": 3600, "6h": 6 * 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };
  const charts = [];
  let events = [];
  let loadSeq = 0;

  function readUrl() {
    const p = new URLSearchParams(location.search);
    const since = Date.parse(p.get("since") || "");
    const until = Date.parse(p.get("until") || "");
    if (!isNaN(since) && !isNaN(until) && until > since) {
      return { zoom: { since: since / 1000, until: until / 1000 }, range: null };
    }
    const range = RANGES[p.get("range")] ? p.get("range") : "1h";
    return { zoom: null, range };
  }
  let view = readUrl();

  function writeUrl() {
    const p = new URLSearchParams();
    if (view.zoom) {
      p.set("since", new Date(view.zoom.since * 1000).toISOString());
      p.set("until", new Date(view.zoom.until * 1000).toISOString());
    } else if (view.range !== "1h") {
      p.set("range", view.range);
    }
    const qs = p.toString();
    history.pushState(null, "", location.pathname + (qs ? "?" + qs : ""));
  }

  /** What an event line is on the charts: deploy, release, config, restart, crash or null. */
  function eventType(line) {
    const f = line.fields || {};
    if (line.kind === "api") {
      if (f.action === "deploy") return "deploy";
      if (f.action === "release" || f.action === "rollback") return "release";
      if (f.action === "config") return "config";
      return null;
    }
    if (f.event === "restarting" || f.event === "cycling") return "restart";
    if (f.event === "state_change" && f.to === "crashed") return "crash";
    return null;
  }

  /** Bucket start times (seconds) covering [since, until). */
  function axis(since, until, bucket) {
    const xs = [];
    for (let t = Math.floor(since / bucket) * bucket; t < until; t += bucket) xs.push(t);
    return xs;
  }

  const secs = (iso) => Math.floor(Date.parse(iso) / 1000);

  function byKey(groups) {
    const m = new Map();
    for (const g of groups) if (g.key) m.set(secs(g.key), g);
    return m;
  }

  function draw(id, opts, range, onZoom) {
    const container = document.getElementById(id);
    const u = Charts.timeChart(container, { ...opts, range, events: () => events, onZoom });
    const i = charts.findIndex((c) => c.container === container);
    if (i >= 0) {
      if (charts[i].u) charts[i].u.destroy();
      charts.splice(i, 1);
    }
    charts.push({ u, container });
  }

  function zoomTo(min, max) {
    view = { zoom: { since: min, until: max }, range: null };
    writeUrl();
    load();
  }

  function tiles(all, loss, codes) {
    const total = all.reduce((n, g) => n + g.count, 0);
    const errors = all.reduce((n, g) => n + g.errors, 0);
    const codeCount = codes.reduce((n, c) => n + c.count, 0);
    const tile = (label, value, note, warn) =>
      el("div", { class: "tile" + (warn ? " warn" : "") },
        el("div", { class: "tile-value" }, value),
        el("div", { class: "tile-label" }, label),
        note ? el("div", { class: "tile-note" }, note) : null);
    document.getElementById("tiles").replaceChildren(
      tile("requests", fmtNum(total, 0)),
      tile("5xx responses", fmtNum(errors, 0), total ? fmtNum((100 * errors) / total, 2) + "% of requests" : "", errors > 0),
      tile("H/R/L errors", fmtNum(codeCount, 0), "", codeCount > 0),
      tile("lost by Logplex", fmtNum(loss.dropped, 0), "L10/L12/L13 drops", loss.dropped > 0),
      tile("count mismatches", fmtNum(loss.msg_count_mismatches, 0), "Logplex-Msg-Count disagreed", loss.msg_count_mismatches > 0),
      tile("retried frames", fmtNum(loss.duplicate_frames, 0), "answered from the ledger"),
    );
  }

  function codesTable(codes) {
    const body = document.querySelector("#codes tbody");
    body.replaceChildren(...codes.map((c) => el("tr", {},
      el("td", {}, el("a", { href: "/apps/" + encodeURIComponent(app) + "/logs?code=" + encodeURIComponent(c.code), class: "code" }, c.code)),
      el("td", {}, c.desc || ""),
      el("td", { class: "num" }, fmtNum(c.count, 0)),
      el("td", {}, fmtTime(c.first_seen, false)),
      el("td", {}, fmtTime(c.last_seen, false)))));
    if (!codes.length) body.append(el("tr", {}, el("td", { colspan: 5, class: "muted" }, "No H, R or L codes in this range.")));
  }

  /** Pages of platform events (api and system lines) in the range, newest first, following
   *  the cursor until the range is covered or EVENT_PAGES pages of 2,000 are read: an app
   *  whose dynos log many system lines (R14 storms, frequent scaling) still gets its deploys
   *  and crashes marked over a day or more. */
  const EVENT_PAGES = 5;
  async function platformEvents(p) {
    let lines = [];
    let cursor = null;
    for (let i = 0; i < EVENT_PAGES; i++) {
      const r = await api(appPath(app, "events"), { ...p, n: 2000, format: "json", ...(cursor ? { cursor } : {}) });
      lines = lines.concat(r.lines);
      cursor = r.next_cursor;
      if (!cursor || r.lines.length < 2000) break;
    }
    return lines;
  }

  function eventsTable(lines) {
    const body = document.querySelector("#events tbody");
    const typed = lines.map((l) => [l, eventType(l)]).filter(([, t]) => t);
    const SHOWN = 100;
    body.replaceChildren(...typed.slice(0, SHOWN).map(([l, t]) => el("tr", {},
      el("td", { class: "nowrap" }, fmtTime(l.ts, false)),
      el("td", {}, el("span", { class: "chip ev-" + t }, Charts.EVENT_TYPES[t].label)),
      el("td", { class: "msg" }, l.message))));
    if (typed.length > SHOWN) {
      body.append(el("tr", {}, el("td", { colspan: 3, class: "muted" },
        "… and " + (typed.length - SHOWN) + " older ones (all are marked on the charts).")));
    }
    if (!typed.length) body.append(el("tr", {}, el("td", { colspan: 3, class: "muted" }, "No deploys, releases, config changes, restarts or crashes in this range.")));
  }

  function legend() {
    document.getElementById("event-legend").replaceChildren(
      el("span", { class: "muted" }, "Markers:"),
      ...Object.entries(Charts.EVENT_TYPES).map(([t, v]) => el("span", { class: "chip ev-" + t }, v.label)));
  }

  async function load() {
    const seq = ++loadSeq;
    const now = Date.now() / 1000;
    const since = view.zoom ? view.zoom.since : now - RANGES[view.range];
    const until = view.zoom ? view.zoom.until : now;
    const bucket = until - since <= 2 * 86400 ? 60 : 3600;
    const perMin = bucket / 60;
    const range = [since, until];
    for (const b of document.querySelectorAll("#ranges button")) {
      b.classList.toggle("active", !view.zoom && b.dataset.range === view.range);
    }
    document.getElementById("zoom-reset").hidden = !view.zoom;
    document.getElementById("range-label").textContent =
      fmtTime(since * 1000, false) + " – " + fmtTime(until * 1000, false) + " UTC, " +
      (bucket === 60 ? "per minute" : "per hour");
    setStatus("Loading…");

    const p = { since: new Date(since * 1000).toISOString(), until: new Date(until * 1000).toISOString() };
    const by = bucket === 60 ? "minute" : "hour";
    const stats = (extra) => api(appPath(app, "stats/requests"), { ...p, by, limit: 10000, ...extra });
    const eventsP = platformEvents(p).then((lines) => {
      if (seq !== loadSeq) return;
      events = lines.map((l) => ({ t: secs(l.ts), type: eventType(l) })).filter((e) => e.type);
      eventsTable(lines);
    });
    const xs = axis(since, until, bucket);
    const stale = () => seq !== loadSeq;

    const requests = Promise.all([stats({}), stats({ status: "300-399" }), stats({ status: "400-499" }), eventsP])
      .then(([all, s3, s4]) => {
        if (stale()) return;
        const a = byKey(all.groups), m3 = byKey(s3.groups), m4 = byKey(s4.groups);
        const col = (f) => xs.map((x) => f(a.get(x), m3.get(x), m4.get(x)));
        const c3 = col((_g, g3) => (g3 ? g3.count / perMin : 0));
        const c4 = col((_g, _g3, g4) => (g4 ? g4.count / perMin : 0));
        const c5 = col((g) => (g ? g.errors / perMin : 0));
        const c2 = col((g, g3, g4) => g ? (g.count - g.errors - (g3 ? g3.count : 0) - (g4 ? g4.count : 0)) / perMin : 0);
        const any = all.groups.length > 0;
        draw("chart-requests", {
          yLabel: "req/min",
          series: [
            { label: "2xx", stroke: "#2e7d32" },
            { label: "3xx", stroke: "#1565c0" },
            { label: "4xx", stroke: "#ef6c00" },
            { label: "5xx", stroke: "#c62828", width: 2 },
          ],
          data: any ? [xs, c2, c3, c4, c5] : [xs],
        }, range, zoomTo);
        const pick = (k) => xs.map((x) => (a.get(x) && a.get(x)[k] !== null ? a.get(x)[k] : null));
        draw("chart-latency", {
          yLabel: "ms",
          series: [
            { label: "p50", stroke: "#2e7d32" },
            { label: "p95", stroke: "#ef6c00" },
            { label: "p99", stroke: "#c62828" },
          ],
          data: [xs, pick("p50_ms"), pick("p95_ms"), pick("p99_ms")],
        }, range, zoomTo);
        return all.groups;
      });

    const errorsP = api(appPath(app, "stats/errors"), { ...p, bucket: bucket + "s" });
    const codes = Promise.all([errorsP, eventsP]).then(([r]) => {
      if (stale()) return;
      codesTable(r.codes);
      const names = [...new Set(r.series.map((b) => b.code))].sort();
      const idx = new Map(xs.map((x, i) => [x, i]));
      const cols = names.map(() => xs.map(() => 0));
      for (const b of r.series) {
        const i = idx.get(secs(b.ts));
        if (i !== undefined) cols[names.indexOf(b.code)][i] += b.count / perMin;
      }
      draw("chart-codes", {
        yLabel: "per min",
        empty: "No H, R or L codes in this range.",
        series: names.map((n, i) => ({ label: n, stroke: Charts.PALETTE[i % Charts.PALETTE.length] })),
        data: [xs, ...cols],
      }, range, zoomTo);
      return r.codes;
    });

    const metrics = Promise.all([api(appPath(app, "metrics"), { ...p, bucket: bucket + "s" }), eventsP]).then(([r]) => {
      if (stale()) return;
      const idx = new Map(xs.map((x, i) => [x, i]));
      const dynos = Object.keys(r.dynos).sort();
      const memSeries = [], memData = [], loadSeries = [], loadData = [];
      dynos.forEach((d, i) => {
        const color = Charts.PALETTE[i % Charts.PALETTE.length];
        const col = (k) => {
          const ys = xs.map(() => null);
          for (const pt of r.dynos[d]) {
            const j = idx.get(secs(pt.ts));
            if (j !== undefined && pt[k] !== undefined) ys[j] = pt[k];
          }
          return ys;
        };
        memSeries.push({ label: d + " RSS", stroke: color, width: 2, spanGaps: true },
          { label: d + " swap", stroke: color, dash: [6, 4], spanGaps: true },
          { label: d + " quota", stroke: color, dash: [2, 3], width: 1, spanGaps: true });
        memData.push(col("memory_rss"), col("memory_swap"), col("memory_quota"));
        loadSeries.push({ label: d, stroke: color, spanGaps: true });
        loadData.push(col("load_avg_1m"));
      });
      draw("chart-memory", { yLabel: "MB", series: memSeries, data: [xs, ...memData], empty: "No runtime metrics in this range (enable log-runtime-metrics)." }, range, zoomTo);
      draw("chart-load", { yLabel: "load", series: loadSeries, data: [xs, ...loadData], empty: "No runtime metrics in this range." }, range, zoomTo);
    });

    const lossP = api(appPath(app, "loss"), p);
    try {
      const [all, , , loss, codeList] = await Promise.all([requests, eventsP, metrics, lossP, codes]);
      if (stale()) return;
      tiles(all, loss, codeList);
      setStatus("");
      document.body.dataset.loaded = String(seq);
      document.body.dataset.loadedMs = String(Math.round(performance.now()));
    } catch (e) {
      if (!stale()) setStatus("Could not load: " + e.message, true);
    }
  }

  for (const b of document.querySelectorAll("#ranges button")) {
    b.addEventListener("click", () => {
      view = { zoom: null, range: b.dataset.range };
      writeUrl();
      load();
    });
  }
  document.getElementById("zoom-reset").addEventListener("click", () => {
    view = { zoom: null, range: "1h" };
    writeUrl();
    load();
  });
  addEventListener("popstate", () => {
    view = readUrl();
    load();
  });
  Charts.autoResize(() => charts);
  legend();
  load();
})();
