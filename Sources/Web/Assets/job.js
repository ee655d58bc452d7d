// A job's page: its facts, outputs (images, videos with seeking, keyed videos over a
// checkerboard, palettes), error, params and result; cancel and retry; kept live.
"use strict";

(() => {
  const { el, api } = RW;
  const data = RW.pageData.data || {};
  if (data.missing) {
    document.getElementById("job-title").textContent = `Job #${data.missing}`;
    document.getElementById("job-body").hidden = true;
    const missing = document.getElementById("job-missing");
    missing.textContent = `There is no job #${data.missing} in this jobs.db (pruned, or a mistyped id).`;
    missing.hidden = false;
    return;
  }
  let job = data;
  let shownOutputs = "";

  function fact(name, value, mono) {
    if (value === null || value === undefined || value === "") return [];
    return [el("dt", { text: name }), el("dd", { class: mono ? "mono" : undefined, text: String(value) })];
  }

  function when(iso) {
    return iso ? `${new Date(iso).toLocaleString()} (${RW.ago(iso)})` : null;
  }

  function render() {
    document.title = `reactor-worker · job #${job.id}`;
    document.getElementById("job-title").textContent = `Job #${job.id} · ${RW.words[job.type] || job.type}`;
    const status = document.getElementById("job-status");
    status.className = `status ${job.status}`;
    status.textContent = job.status;
    const readOnly = RW.settings.read_only;
    document.getElementById("job-cancel").hidden = readOnly || !["queued", "waiting", "processing", "keying_processing"].includes(job.status);
    document.getElementById("job-retry").hidden = readOnly || !["failed", "cancelled"].includes(job.status);
    document.getElementById("facts").replaceChildren(
      ...fact("Type", job.type), ...fact("Provider", job.provider), ...fact("Phase", job.phase),
      ...fact("Attempts", `${job.attempts} of ${job.max_attempts}${job.interruptions ? ` (worker stopped ${job.interruptions}×)` : ""}`),
      ...fact("Priority", job.priority), ...fact("Created", when(job.created_at)), ...fact("Started", when(job.started_at)),
      ...fact("Finished", when(job.finished_at)), ...fact("Run time", RW.seconds(RW.runTime(job))),
      ...fact("Retry at", job.run_after && !job.hold ? new Date(job.run_after * 1000).toLocaleString() : null),
      ...fact("Provider task", job.provider_task_id, true), ...fact("Worker", job.lease_owner, true),
      ...fact("Cost", job.cost), ...fact("Waiting for budget", job.hold),
      ...fact("Pipeline", job.pipeline_id ? `${job.pipeline_id}, step ${job.step}` : null),
      ...fact("Summary", job.summary));
    const bar = document.getElementById("job-progress");
    bar.className = `bar ${job.status}`;
    bar.firstElementChild.style.width = `${Math.round((job.status === "completed" ? 1 : job.progress || 0) * 100)}%`;
    document.getElementById("error-card").hidden = !job.error;
    document.getElementById("error").textContent = job.error || "";
    document.getElementById("params").textContent = JSON.stringify(job.params, null, 2);
    document.getElementById("result").textContent = job.result ? JSON.stringify(job.result, null, 2) : "none yet";
    renderOutputs();
  }

  /** Outputs change only when the job does: redrawing a playing video would restart it. */
  function renderOutputs() {
    const key = JSON.stringify([job.outputs, job.result && job.result.palette, job.status]);
    if (key === shownOutputs) return;
    shownOutputs = key;
    const box = document.getElementById("outputs");
    const items = [];
    const keyed = job.type === "video_keying";
    for (const output of job.outputs || []) {
      const caption = el("div", { class: "caption" }, el("a", { href: output.url, text: output.name }));
      if (output.kind === "image") {
        items.push(el("figure", { class: "output" }, el("div", { class: "checker" }, el("img", { src: output.url, alt: output.name })), caption));
      } else if (output.kind === "video") {
        const video = el("video", { src: output.url, controls: true, preload: "metadata", playsinline: true, loop: true, muted: true });
        items.push(el("figure", { class: "output" }, keyed ? el("div", { class: "checker", title: "transparent areas show the checkerboard" }, video) : video, caption));
      } else {
        items.push(el("div", { class: "output" }, caption));
      }
    }
    const palette = job.result && Array.isArray(job.result.palette) ? job.result.palette : null;
    if (palette) items.push(paletteView(palette, job.result.style));
    box.replaceChildren(...(items.length ? items : [el("span", { class: "empty", text: job.status === "completed" ? "no files" : "no output yet" })]));
  }

  function paletteView(palette, style) {
    const strip = el("div", { class: "palette", role: "img", "aria-label": "colour palette" });
    for (const swatch of palette) {
      const hex = String(swatch.hex || swatch.color || "#000000");
      const weight = Number(swatch.weight || swatch.share || 1 / palette.length);
      const [r, g, b] = [1, 3, 5].map((at) => parseInt(hex.slice(at, at + 2), 16) || 0);
      const cell = el("div", { class: r * 0.299 + g * 0.587 + b * 0.114 > 150 ? "light" : "dark", title: `${hex} · ${Math.round(weight * 100)}%`, text: hex });
      cell.style.background = hex;
      cell.style.flexGrow = String(Math.max(weight, 0.02));
      strip.append(cell);
    }
    return el("div", { class: "output wide-output" }, strip, style ? el("p", { class: "style-text", text: style }) : null);
  }

  async function act(action) {
    const message = document.getElementById("job-message");
    try {
      const answer = await api(`/api/jobs/${job.id}/${action}`, { method: "POST", json: {} });
      RW.flash(message, answer.message || answer.status, true);
    } catch (error) {
      RW.flash(message, error.message, false);
    }
    await refresh();
  }

  async function refresh() {
    try {
      job = await api(`/api/jobs/${job.id}`);
      render();
    } catch (error) {
      RW.flash(document.getElementById("job-message"), error.message, false);
    }
  }

  document.getElementById("job-cancel").addEventListener("click", () => act("cancel"));
  document.getElementById("job-retry").addEventListener("click", () => act("retry"));
  render();
  setInterval(() => {
    if (["processing", "keying_processing", "cancel_requested"].includes(job.status)) render();  // the run time ticks
  }, 1000);

  RW.live({
    jobs(changed) { if (changed.some((entry) => entry.id === job.id)) refresh(); },
    stats() {},
    resync: refresh,
    poll: refresh,
  });
})();
