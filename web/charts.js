// Time-series charts on uPlot: UTC axes, cursors synced across charts, drag-to-zoom reported
// to the page, and the app's events (deploys, releases, config changes, restarts, crashes)
// drawn as vertical markers on every chart.
"use strict";

const Charts = (() => {
  /** Marker colour and label per event type (see overview.js for how lines are typed). */
  const EVENT_TYPES = {
    deploy: { color: "#1565c0", label: "deploy" },
    release: { color: "#6a1b9a", label: "release" },
    config: { color: "#ef6c00", label: "config change" },
    restart: { color: "#00838f", label: "restart" },
    crash: { color: "#c62828", label: "crash" },
  };

  /** Series colours, in order, for charts with one series per dyno or code. */
  const PALETTE = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#c62828", "#00838f",
    "#5d4037", "#ad1457", "#558b2f", "#283593"];

  function markersPlugin(getEvents) {
    return {
      hooks: {
        draw: [(u) => {
          const events = getEvents();
          if (!events.length) return;
          const { ctx, bbox } = u;
          ctx.save();
          ctx.lineWidth = Math.max(1, Math.round(devicePixelRatio));
          ctx.globalAlpha = 0.6;
          ctx.setLineDash([4 * devicePixelRatio, 4 * devicePixelRatio]);
          for (const ev of events) {
            const x = Math.round(u.valToPos(ev.t, "x", true));
            if (x < bbox.left || x > bbox.left + bbox.width) continue;
            ctx.strokeStyle = (EVENT_TYPES[ev.type] || EVENT_TYPES.release).color;
            ctx.beginPath();
            ctx.moveTo(x, bbox.top);
            ctx.lineTo(x, bbox.top + bbox.height);
            ctx.stroke();
            // A small flag at the top, so a marker reads as an event and not a data line.
            ctx.fillStyle = ctx.strokeStyle;
            ctx.fillRect(x, bbox.top, 6 * devicePixelRatio, 6 * devicePixelRatio);
          }
          ctx.restore();
        }],
      },
    };
  }

  const pad = (n) => String(n).padStart(2, "0");

  /** 24-hour UTC tick labels: HH:MM within a day, MM-DD HH:MM or MM-DD beyond. */
  function timeLabels(u, splits, _axis, _space, incr) {
    const span = u.scales.x.max - u.scales.x.min;
    return splits.map((v) => {
      const d = new Date(v * 1000);
      const day = pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate());
      const hm = pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
      if (incr >= 86400) return day;
      return span > 86400 ? day + " " + hm : hm;
    });
  }

  function sizeOf(container) {
    return { width: Math.max(300, container.clientWidth - 4), height: 220 };
  }

  /**
   * Draws a chart into `container`.
   * opts: { series: [{label, stroke, dash, width, fill}], data: [xs, ...ys] (xs in seconds),
   *         yLabel, range: [min, max] (seconds), events: () => [{t, type}], onZoom(min, max) }
   */
  function timeChart(container, opts) {
    container.replaceChildren();
    const points = opts.data.slice(1).reduce(
      (n, ys) => n + ys.filter((v) => v !== null && v !== undefined).length, 0);
    container.dataset.points = String(points);
    container.classList.toggle("empty", points === 0);
    if (points === 0) {
      container.append(LD.el("p", { class: "no-data" }, opts.empty || "No data in this range."));
      return null;
    }
    const u = new uPlot({
      ...sizeOf(container),
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
      scales: {
        x: { time: true, range: () => opts.range },
        y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.08 : 1] },
      },
      series: [
        { label: "UTC", value: (_u, v) => (v === null || v === undefined ? "–" : LD.fmtTime(v * 1000, false)) },
        ...opts.series.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          width: s.width || 1.5,
          dash: s.dash,
          fill: s.fill,
          spanGaps: !!s.spanGaps,
          points: { show: false },
          value: (_u, v) => (v === null || v === undefined ? "–" : LD.fmtNum(v)),
        })),
      ],
      axes: [
        { stroke: "#555", grid: { stroke: "#eee" }, values: timeLabels },
        { stroke: "#555", grid: { stroke: "#eee" }, label: opts.yLabel, size: 60 },
      ],
      cursor: {
        drag: { x: true, y: false, setScale: false },
        sync: { key: "logdrain-overview" },
      },
      hooks: {
        setSelect: [(u) => {
          if (u.select.width < 4) return;
          const min = u.posToVal(u.select.left, "x");
          const max = u.posToVal(u.select.left + u.select.width, "x");
          u.setSelect({ left: 0, width: 0 }, false);
          if (opts.onZoom) opts.onZoom(min, max);
        }],
      },
      plugins: [markersPlugin(opts.events || (() => []))],
    }, opts.data, container);
    return u;
  }

  /** Keeps every chart as wide as its box. */
  function autoResize(getCharts) {
    let pending = null;
    addEventListener("resize", () => {
      clearTimeout(pending);
      pending = setTimeout(() => {
        for (const { u, container } of getCharts()) if (u) u.setSize(sizeOf(container));
      }, 150);
    });
  }

  return { timeChart, autoResize, EVENT_TYPES, PALETTE };
})();
