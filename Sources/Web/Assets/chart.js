// The dashboard's charts as plain SVG: finished jobs per minute, and p50/p95 time per type.
"use strict";

const Charts = (() => {
  const SVG = "http://www.w3.org/2000/svg";

  function svgEl(tag, attributes, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** Stacked bars, one per minute: completed below, failed on top; `minutes` oldest first. */
  function perMinute(svg, minutes, totalLabel) {
    const width = svg.clientWidth || 600;
    const height = svg.clientHeight || 170;
    const left = 34, bottom = 18, top = 8, right = 6;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.replaceChildren();
    const highest = Math.max(1, ...minutes.map((m) => m.completed + m.failed));
    const scale = niceCeiling(highest);
    const plotHeight = height - top - bottom;
    const slot = (width - left - right) / Math.max(minutes.length, 1);
    for (const fraction of [0, 0.5, 1]) {
      const y = top + plotHeight * (1 - fraction);
      svg.append(svgEl("line", { class: "axis", x1: left, x2: width - right, y1: y, y2: y }));
      const value = scale * fraction;
      svg.append(svgEl("text", { x: left - 4, y: y + 3, "text-anchor": "end" }, Number.isInteger(value) ? value : value.toFixed(1)));
    }
    minutes.forEach((minute, index) => {
      const x = left + index * slot + 1;
      const barWidth = Math.max(slot - 2, 1);
      const completedHeight = (minute.completed / scale) * plotHeight;
      const failedHeight = (minute.failed / scale) * plotHeight;
      const label = `${minute.minute.slice(11)} UTC: ${minute.completed} completed, ${minute.failed} failed`;
      const group = svgEl("g", {});
      group.append(svgEl("title", {}, label));
      group.append(svgEl("rect", { class: "completed", x, width: barWidth, y: top + plotHeight - completedHeight, height: completedHeight }));
      group.append(svgEl("rect", { class: "failed", x, width: barWidth, y: top + plotHeight - completedHeight - failedHeight, height: failedHeight }));
      svg.append(group);
    });
    const labels = [[0, "−60 min"], [30, "−30 min"], [minutes.length - 1, "now"]];
    for (const [index, text] of labels) {
      const anchor = index === 0 ? "start" : index === minutes.length - 1 ? "end" : "middle";
      svg.append(svgEl("text", { x: left + index * slot + (anchor === "end" ? slot : 0), y: height - 4, "text-anchor": anchor }, text));
    }
    const completed = minutes.reduce((sum, m) => sum + m.completed, 0);
    const failed = minutes.reduce((sum, m) => sum + m.failed, 0);
    if (totalLabel) totalLabel.textContent = `${completed} completed, ${failed} failed in the hour`;
  }

  /** 1, 2, 5, 10, 20, 50, …: a round top for the y axis. */
  function niceCeiling(value) {
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power;
    return 10 * power;
  }

  /** Rows of type, count, p50, p95, with a bar for p95 on one scale. */
  function durations(tbody, byType) {
    const types = Object.keys(byType).sort();
    tbody.replaceChildren();
    if (types.length === 0) {
      tbody.append(RW.el("tr", {}, RW.el("td", { colspan: 5, class: "empty", text: "no completed jobs in the last hour" })));
      return;
    }
    const longest = Math.max(...types.map((type) => byType[type].p95_seconds), 0.001);
    for (const type of types) {
      const entry = byType[type];
      const bar = RW.el("div", { class: "bar p95", title: `p95 ${RW.seconds(entry.p95_seconds)}` }, RW.el("span"));
      bar.firstChild.style.width = `${Math.max(2, (entry.p95_seconds / longest) * 100)}%`;
      tbody.append(RW.el("tr", {},
        RW.el("td", { text: RW.words[type] || type }),
        RW.el("td", { class: "num", text: entry.count }),
        RW.el("td", { class: "num", text: RW.seconds(entry.p50_seconds) }),
        RW.el("td", { class: "num", text: RW.seconds(entry.p95_seconds) }),
        RW.el("td", {}, bar)));
    }
  }

  return { perMinute, durations };
})();
