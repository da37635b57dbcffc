// The log viewer's side panel: one line's fields, its raw bytes (text and hex), the app's
// lines around it (GET /api/apps/{app}/lines/{id}) and, for a request id, every line of that
// request (GET /api/apps/{app}/requests/{id}). Everything is shown as text.
"use strict";

const Detail = (() => {
  const { el, api, appPath, fmtLineTime } = LD;
  let seq = 0;

  function panel() {
    return document.getElementById("detail");
  }

  function close() {
    seq++;
    const p = panel();
    p.hidden = true;
    p.replaceChildren();
    for (const r of document.querySelectorAll("#lines tr.selected")) r.classList.remove("selected");
  }

  function bytesOf(b64) {
    const bin = atob(b64 || "");
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  /** Bytes as text with control and invalid bytes shown as \xNN. */
  function escapedText(bytes) {
    const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
    return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f\ufffd]/g, (c) =>
      c === "\ufffd" ? "\\x??" : "\\x" + c.charCodeAt(0).toString(16).padStart(2, "0"));
  }

  /** The classic hex dump: offset, 16 bytes in hex, the printable ones. */
  function hexDump(bytes, max) {
    const lines = [];
    const n = Math.min(bytes.length, max);
    for (let off = 0; off < n; off += 16) {
      const row = bytes.slice(off, Math.min(off + 16, n));
      const hex = Array.from(row, (b) => b.toString(16).padStart(2, "0")).join(" ");
      const asc = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
      lines.push(off.toString(16).padStart(6, "0") + "  " + hex.padEnd(47) + "  " + asc);
    }
    if (bytes.length > n) lines.push("… " + (bytes.length - n) + " more bytes");
    return lines.join("\n");
  }

  function fieldValue(app, key, value) {
    if (key === "request_id" && typeof value === "string" && value) {
      return el("button", { type: "button", class: "link request-id", onclick: () => trace(app, value) }, value);
    }
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  function kvTable(app, obj) {
    const keys = Object.keys(obj || {}).sort();
    if (!keys.length) return el("p", { class: "muted" }, "none");
    return el("table", { class: "kv" }, el("tbody", {}, keys.map((k) =>
      el("tr", {}, el("th", {}, k), el("td", {}, fieldValue(app, k, obj[k]))))));
  }

  function contextRow(line, current) {
    return el("tr", { class: (current ? "current " : "") + "lvl-" + line.level },
      el("td", { class: "ts" }, fmtLineTime(line.ts)),
      el("td", { class: "src" }, line.source + "[" + line.dyno + "]"),
      el("td", { class: "msg" }, line.message));
  }

  async function show(app, line, row) {
    const mine = ++seq;
    for (const r of document.querySelectorAll("#lines tr.selected")) r.classList.remove("selected");
    if (row) row.classList.add("selected");
    const p = panel();
    p.hidden = false;
    const traceBox = el("section", { id: "trace" });
    const rawBox = el("section", {}, el("h3", {}, "Raw bytes"), el("p", { class: "muted" }, "Loading…"));
    const ctxBox = el("section", {}, el("h3", {}, "Around this line"), el("p", { class: "muted" }, "Loading…"));
    p.replaceChildren(
      el("div", { class: "detail-head" },
        el("strong", {}, fmtLineTime(line.ts) + " " + line.source + "[" + line.dyno + "]"),
        el("button", { type: "button", class: "close", onclick: close, "aria-label": "Close" }, "×")),
      el("pre", { class: "message", id: "detail-message" }, line.message),
      el("p", { class: "meta" }, "kind " + line.kind + " · level " + line.level + " · received " + fmtLineTime(line.received_at)),
      el("h3", {}, "Fields"), kvTable(app, line.fields),
      el("h3", {}, "Tags"), kvTable(app, line.tags),
      traceBox, rawBox, ctxBox);
    try {
      const r = await api(appPath(app, "lines/" + encodeURIComponent(line.id)), { around: 8 });
      if (mine !== seq) return;
      const bytes = bytesOf(r.line.raw_base64);
      rawBox.replaceChildren(el("h3", {}, "Raw bytes (" + bytes.length + ")"),
        el("pre", { class: "raw", id: "detail-raw" }, escapedText(bytes)),
        el("pre", { class: "hex" }, hexDump(bytes, 4096)));
      ctxBox.replaceChildren(el("h3", {}, "Around this line"),
        el("table", { class: "lines context" }, el("tbody", {},
          r.before.map((l) => contextRow(l, false)), contextRow(r.line, true), r.after.map((l) => contextRow(l, false)))));
    } catch (e) {
      if (mine === seq) rawBox.replaceChildren(el("p", { class: "error" }, "Could not load the line: " + e.message));
    }
  }

  async function trace(app, requestId) {
    const box = document.getElementById("trace");
    if (!box) return;
    box.replaceChildren(el("h3", {}, "Request " + requestId), el("p", { class: "muted" }, "Loading…"));
    try {
      const r = await api(appPath(app, "requests/" + encodeURIComponent(requestId)), { format: "json" });
      const t0 = r.lines.length ? Date.parse(r.lines[0].ts) : 0;
      box.replaceChildren(el("h3", {}, "Request " + requestId + " (" + r.lines.length + " lines)"),
        el("table", { class: "lines trace" }, el("tbody", {}, r.lines.map((l) =>
          el("tr", { class: "lvl-" + l.level },
            el("td", { class: "ts" }, "+" + (Date.parse(l.ts) - t0) + " ms"),
            el("td", { class: "src" }, l.source + "[" + l.dyno + "]"),
            el("td", { class: "msg" }, l.message))))));
    } catch (e) {
      box.replaceChildren(el("p", { class: "error" }, "Could not load the request: " + e.message));
    }
  }

  addEventListener("keydown", (e) => {
    if (e.key === "Escape") close();
  });

  return { show, close, trace };
})();
