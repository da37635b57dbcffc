// The signed-in home page: the apps the session's token covers (GET /api/apps).
"use strict";

(async () => {
  const { el, api, fmtNum, fmtTime, setStatus } = LD;
  try {
    const apps = await api("apps");
    const table = document.getElementById("apps");
    const body = table.querySelector("tbody");
    for (const a of apps) {
      const href = "/apps/" + encodeURIComponent(a.name);
      body.append(el("tr", {},
        el("td", {}, el("a", { href, class: "app-link" }, a.name)),
        el("td", { class: "num" }, fmtNum(a.lines, 0)),
        el("td", { class: "num" }, fmtNum(a.dropped, 0)),
        el("td", {}, a.last_seen_at ? fmtTime(a.last_seen_at, false) + " UTC" : "never"),
        el("td", {}, el("a", { href: href + "/logs" }, "Logs")),
      ));
    }
    table.hidden = apps.length === 0;
    setStatus(apps.length === 0 ? "No apps yet: add a drain and its lines will show here." : "");
  } catch (e) {
    setStatus("Could not load the apps: " + e.message, true);
  }
})();
