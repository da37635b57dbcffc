// The log viewer (/apps/{app}/logs): the /logs filters as a search bar and controls, mirrored
// in the URL; newest lines first, older pages loaded on scrolling (next_cursor); a live tail
// over Server-Sent Events with pause and resume. Lines are rendered as text, never markup.
"use strict";

(() => {
  const { el, api, appPath, fmtLineTime, header, setStatus } = LD;
  const app = LD.appName();
  header(app, "logs");

  const PAGE = 200;
  const MAX_ROWS = 20000;
  const FIELDS = ["q", "kind", "level", "dyno", "status", "code", "path", "since", "until"];
  const input = (name) => document.getElementById("f-" + name);
  const tbody = document.querySelector("#lines tbody");
  const more = document.getElementById("more");
  const liveBtn = document.getElementById("live");

  let nextCursor = null;
  let loading = false;
  let seq = 0;
  const shown = new Set();
  let source = null; // the EventSource of the live tail
  let paused = false;
  let buffered = [];

  /** The API parameters of the form: the dyno box is `dyno` for web.1, `type` for web. */
  function filters() {
    const p = {};
    for (const f of FIELDS) {
      const v = input(f).value.trim();
      if (!v) continue;
      if (f === "dyno") p[v.includes(".") ? "dyno" : "type"] = v;
      else p[f] = v;
    }
    return p;
  }

  function fromUrl() {
    const p = new URLSearchParams(location.search);
    for (const f of FIELDS) input(f).value = p.get(f) || "";
    if (!p.get("dyno") && p.get("type")) input("dyno").value = p.get("type");
  }

  function toUrl(push) {
    const qs = new URLSearchParams(filters()).toString();
    const url = location.pathname + (qs ? "?" + qs : "");
    if (url !== location.pathname + location.search) {
      if (push) history.pushState(null, "", url);
      else history.replaceState(null, "", url);
    }
  }

  function row(line) {
    const tr = el("tr", { class: "lvl-" + line.level, dataset: { id: line.id } },
      el("td", { class: "ts" }, fmtLineTime(line.ts)),
      el("td", { class: "src" }, line.source + "[" + line.dyno + "]"),
      el("td", { class: "lvl" }, el("span", { class: "level level-" + line.level }, line.level)),
      el("td", { class: "msg" }, line.message));
    tr.addEventListener("click", () => Detail.show(app, line, tr));
    return tr;
  }

  function append(lines) {
    // The API gives each page oldest first; the viewer shows newest first.
    const rows = [];
    for (let i = lines.length - 1; i >= 0; i--) {
      if (shown.has(lines[i].id)) continue;
      shown.add(lines[i].id);
      rows.push(row(lines[i]));
    }
    tbody.append(...rows);
  }

  function prepend(lines) {
    const rows = [];
    for (const l of lines) {
      if (shown.has(l.id)) continue;
      shown.add(l.id);
      rows.push(row(l));
    }
    tbody.prepend(...rows.reverse());
    while (tbody.rows.length > MAX_ROWS) tbody.lastElementChild.remove();
  }

  function moreText() {
    more.textContent = loading ? "Loading older lines…" : nextCursor ? "Scroll for older lines" : tbody.rows.length ? "No older lines." : "";
  }

  async function load(reset) {
    const mine = reset ? ++seq : seq;
    if (!reset && (loading || !nextCursor)) return;
    loading = true;
    moreText();
    const params = { ...filters(), n: PAGE, format: "json" };
    if (!reset) params.cursor = nextCursor;
    try {
      const page = await api(appPath(app, "logs"), params);
      if (mine !== seq) return;
      if (reset) {
        tbody.replaceChildren();
        shown.clear();
        Detail.close();
      }
      append(page.lines);
      nextCursor = page.next_cursor;
      setStatus(tbody.rows.length ? "" : "No lines match.");
      document.body.dataset.loaded = String(mine);
    } catch (e) {
      if (mine === seq) setStatus(e.message, true);
    } finally {
      if (mine === seq) loading = false;
      moreText();
    }
    // Keep filling while the sentinel is still in view (a short first page).
    if (mine === seq && nextCursor && visible(more)) load(false);
  }

  function visible(node) {
    const scroller = document.getElementById("scroller").getBoundingClientRect();
    const r = node.getBoundingClientRect();
    return r.top < scroller.bottom && r.bottom > scroller.top;
  }

  // ---- live tail ----
  function liveLabel() {
    liveBtn.setAttribute("aria-pressed", source ? "true" : "false");
    liveBtn.classList.toggle("on", !!source && !paused);
    liveBtn.classList.toggle("paused", !!source && paused);
    liveBtn.textContent = !source ? "Live tail" : paused ? "Resume (" + buffered.length + " new)" : "Pause";
  }

  function startTail() {
    stopTail();
    const params = new URLSearchParams({ ...filters(), n: "50" });
    params.delete("until");
    source = new EventSource("/api/" + appPath(app, "tail") + "?" + params.toString());
    paused = false;
    buffered = [];
    source.addEventListener("open", () => setStatus("Live: new lines appear at the top."));
    source.addEventListener("message", (e) => {
      let line;
      try {
        line = JSON.parse(e.data);
      } catch (_) {
        return;
      }
      if (paused) {
        buffered.push(line);
        liveLabel();
      } else {
        prepend([line]);
      }
    });
    source.addEventListener("error", () => {
      if (source && source.readyState === EventSource.CONNECTING) setStatus("Live tail: reconnecting…", true);
    });
    liveLabel();
  }

  function stopTail() {
    if (source) source.close();
    source = null;
    paused = false;
    buffered = [];
    liveLabel();
  }

  liveBtn.addEventListener("click", () => {
    if (!source) return startTail();
    if (!paused) {
      paused = true;
    } else {
      paused = false;
      prepend(buffered);
      buffered = [];
    }
    liveLabel();
  });

  // ---- search ----
  document.getElementById("search").addEventListener("submit", (e) => {
    e.preventDefault();
    toUrl(true);
    nextCursor = null;
    load(true);
    if (source) startTail();
  });
  for (const f of ["kind", "level"]) {
    input(f).addEventListener("change", () => document.getElementById("go").click());
  }
  document.getElementById("clear").addEventListener("click", () => {
    for (const f of FIELDS) input(f).value = "";
    document.getElementById("go").click();
  });
  addEventListener("popstate", () => {
    fromUrl();
    nextCursor = null;
    load(true);
    if (source) startTail();
  });

  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) load(false);
  }, { root: document.getElementById("scroller"), rootMargin: "400px" }).observe(more);

  fromUrl();
  toUrl(false);
  load(true);
})();
