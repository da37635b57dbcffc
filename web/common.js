// Shared by every page: DOM building that only ever makes text nodes (log lines are
// attacker-controlled, so nothing here parses markup), the query API client (same origin,
// the session cookie), time formatting and the header's app links.
"use strict";

const LD = (() => {
  /** An element with attributes and children; string children become text nodes. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(node.dataset, v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  /** The app name of an /apps/{app}/… page. */
  function appName() {
    const m = location.pathname.match(/^\/apps\/([^/]+)/);
    return m ? decodeURIComponent(m[1]) : null;
  }

  /** Error from the API, with its JSON error code and message. */
  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  /** GET /api/… as JSON with the session cookie; a 401 (session over) goes to sign-in. */
  async function api(path, params, signal) {
    const qs = params ? new URLSearchParams(params).toString() : "";
    const res = await fetch("/api/" + path + (qs ? "?" + qs : ""), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      signal,
    });
    if (res.status === 401) {
      location.assign("/");
      throw new ApiError(401, "unauthorized", "signed out");
    }
    if (!res.ok) {
      let code = "error", message = res.status + " " + res.statusText;
      try {
        const body = await res.json();
        code = body.error.code;
        message = body.error.message;
      } catch (_) { /* not JSON */ }
      throw new ApiError(res.status, code, message);
    }
    return res.json();
  }

  function appPath(app, rest) {
    return "apps/" + encodeURIComponent(app) + "/" + rest;
  }

  const pad = (n, w) => String(n).padStart(w || 2, "0");

  /** "2026-11-01 10:00:00.118" in UTC from an RFC 3339 string or epoch ms. */
  function fmtTime(t, withMs) {
    const d = typeof t === "number" ? new Date(t) : new Date(t);
    if (isNaN(d)) return String(t);
    const base = d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) +
      " " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds());
    return withMs === false ? base : base + "." + pad(d.getUTCMilliseconds(), 3);
  }

  /** Microsecond-precision timestamp text as the API wrote it, shown in UTC. */
  function fmtLineTime(ts) {
    // "2026-11-01T10:00:00.118264Z" → "2026-11-01 10:00:00.118264"
    return typeof ts === "string" ? ts.replace("T", " ").replace(/Z$/, "") : String(ts);
  }

  function fmtNum(n, digits) {
    if (n === null || n === undefined || Number.isNaN(n)) return "–";
    return Number(n).toLocaleString("en-US", { maximumFractionDigits: digits === undefined ? 1 : digits });
  }

  /** The header: the app's name and its Overview / Logs links. */
  function header(app, page) {
    const name = document.getElementById("app-name");
    if (name && app) name.textContent = app;
    const ov = document.getElementById("nav-overview");
    const lg = document.getElementById("nav-logs");
    if (ov && app) ov.href = "/apps/" + encodeURIComponent(app);
    if (lg && app) lg.href = "/apps/" + encodeURIComponent(app) + "/logs";
    if (page === "overview" && ov) ov.setAttribute("aria-current", "page");
    if (page === "logs" && lg) lg.setAttribute("aria-current", "page");
  }

  function setStatus(text, isError) {
    const s = document.getElementById("status");
    if (!s) return;
    s.textContent = text || "";
    s.classList.toggle("error", !!isError);
  }

  return { el, appName, api, appPath, fmtTime, fmtLineTime, fmtNum, header, setStatus, ApiError };
})();
