// The dashboard: the header (workers, queue, providers), the charts, the jobs table with its
// filters, paging and bulk actions, kept live by RW.live.
"use strict";

(() => {
  const { el, api } = RW;
  const tbody = document.getElementById("jobs");
  const filterForm = document.getElementById("filters");
  const fields = ["status", "type", "provider", "q"];
  const rows = new Map();  // id → { job, tr }
  let cursor = null;       // `before` of the page shown (null: the newest page)
  let nextCursor = null;
  let counts = null;
  let countsAt = 0;

  // ---- filters (kept in the URL, so a filtered view can be bookmarked and shared) ----

  function readURL() {
    const query = new URLSearchParams(location.search);
    for (const name of fields) filterForm.elements[name].value = query.get(name) || "";
    cursor = query.get("before");
  }

  function filterQuery(extra = {}) {
    const query = new URLSearchParams();
    for (const name of fields) {
      const value = filterForm.elements[name].value.trim();
      if (value) query.set(name, value);
    }
    for (const [key, value] of Object.entries(extra)) if (value !== null && value !== undefined) query.set(key, value);
    return query;
  }

  function filterObject() {
    const filter = {};
    for (const name of fields) {
      const value = filterForm.elements[name].value.trim();
      if (value) filter[name] = value;
    }
    return filter;
  }

  /** Whether a job from a live event belongs on this page (the text search is left to the server). */
  function matches(job) {
    const status = filterForm.elements.status.value;
    const held = ["processing", "keying_processing", "cancel_requested"];
    if (status === "running" ? !held.includes(job.status) : status && job.status !== status) return false;
    if (filterForm.elements.type.value && job.type !== filterForm.elements.type.value) return false;
    if (filterForm.elements.provider.value && job.provider !== filterForm.elements.provider.value) return false;
    return true;
  }

  // ---- the table ----

  function timeText(job) {
    if (["processing", "keying_processing", "cancel_requested"].includes(job.status)) return `running ${RW.seconds(RW.runTime(job))}`;
    if (job.status === "queued") return `queued ${RW.ago(job.created_at)}`;
    const took = job.run_seconds !== null && job.run_seconds !== undefined ? `${RW.seconds(job.run_seconds)} · ` : "";
    return took + RW.ago(job.finished_at || job.updated_at);
  }

  function outputCell(job) {
    const cell = el("div", { class: "thumbs" });
    for (const output of (job.outputs || []).slice(0, 3)) {
      if (output.kind === "image") {
        cell.append(el("a", { href: `/jobs/${job.id}`, title: output.name }, el("img", { class: "thumb", src: output.url, alt: output.name, loading: "lazy" })));
      } else if (output.kind === "video") {
        cell.append(el("a", { href: `/jobs/${job.id}`, class: "vid", text: "▶ video", title: output.name }));
      }
    }
    return cell;
  }

  function actionCell(job) {
    if (RW.settings.read_only) return el("span");
    const cell = el("span");
    if (["queued", "waiting", "processing", "keying_processing"].includes(job.status)) {
      cell.append(el("button", { type: "button", class: "small danger", "data-action": "cancel", text: "Cancel", onclick: () => act(job.id, "cancel") }));
    } else if (["failed", "cancelled"].includes(job.status)) {
      cell.append(el("button", { type: "button", class: "small", "data-action": "retry", text: "Retry", onclick: () => act(job.id, "retry") }));
    }
    return cell;
  }

  function cells(job) {
    return [
      el("td", { "data-label": "ID" }, el("a", { href: `/jobs/${job.id}`, text: `#${job.id}` })),
      el("td", { "data-label": "Type", text: RW.words[job.type] || job.type }),
      el("td", { "data-label": "Provider", text: job.provider }),
      el("td", { "data-label": "What", class: "what", title: job.summary || "", text: job.summary || "" }),
      el("td", { "data-label": "Status", class: "status-cell" }, RW.statusPill(job.status)),
      el("td", { "data-label": "Progress" }, RW.progressBar(job)),
      el("td", { "data-label": "Phase", class: "muted", text: job.phase || "" }),
      el("td", { "data-label": "Attempts", class: "num", text: `${job.attempts}/${job.max_attempts}` }),
      el("td", { "data-label": "Time", class: "time muted", text: timeText(job) }),
      el("td", { "data-label": "Output" }, outputCell(job)),
      el("td", { "data-label": "" }, actionCell(job)),
    ];
  }

  function rowFor(job) {
    return el("tr", { "data-id": job.id, "data-status": job.status }, cells(job));
  }

  function render(answer) {
    rows.clear();
    const fresh = answer.jobs.map((job) => {
      const tr = rowFor(job);
      rows.set(job.id, { job, tr });
      return tr;
    });
    tbody.replaceChildren(...fresh);
    document.getElementById("no-jobs").hidden = answer.jobs.length > 0;
    nextCursor = answer.next_cursor;
    document.getElementById("older").hidden = !nextCursor;
    document.getElementById("newer").hidden = !cursor;
    const error = document.getElementById("filter-error");
    error.hidden = !answer.filter_error;
    error.textContent = answer.filter_error || "";
  }

  /** A live change to a row on screen: redraw it in place (no reload, no jump). */
  function patch(job) {
    const entry = rows.get(job.id);
    const merged = Object.assign({}, entry.job, job);
    entry.job = merged;
    const tr = rowFor(merged);
    if (entry.tr.dataset.status !== merged.status) tr.classList.add("fresh");
    entry.tr.replaceWith(tr);
    entry.tr = tr;
  }

  // ---- loading (one request at a time; a change that arrives meanwhile asks for one more) ----

  let loading = null;
  let again = false;

  function reload() {
    if (loading) { again = true; return loading; }
    loading = (async () => {
      try {
        do {
          again = false;
          const wantCounts = Date.now() - countsAt > 2000;
          const answer = await api(`/api/jobs?${filterQuery({ before: cursor, count: wantCounts ? 1 : null })}`);
          render(answer);
          if (wantCounts) { counts = answer; countsAt = Date.now(); renderBulk(); }
        } while (again);
      } catch (error) {
        const node = document.getElementById("filter-error");
        node.hidden = false;
        node.textContent = error.message;
      } finally {
        loading = null;
      }
    })();
    return loading;
  }

  // Rows are patched live, but the bulk buttons' counts come with a page load: refresh them
  // once things have changed, at most every 2 s, so "Cancel 5 not finished" does not outlive the jobs.
  let countsTimer = null;
  function refreshCountsSoon() {
    if (countsTimer) return;
    countsTimer = setTimeout(() => { countsTimer = null; countsAt = 0; reload(); },
      Math.max(0, 2000 - (Date.now() - countsAt)));
  }

  function onFilterChange() {
    cursor = null;
    countsAt = 0;
    const query = filterQuery();
    history.replaceState(null, "", query.toString() ? `/?${query}` : "/");
    reload();
  }

  // ---- actions ----

  async function act(id, action) {
    try {
      await api(`/api/jobs/${id}/${action}`, { method: "POST", json: {} });
    } catch (error) {
      alertLine(error.message);
    }
    countsAt = 0;
    reload();
  }

  function alertLine(text) {
    const node = document.getElementById("filter-error");
    RW.flash(node, text, false);
  }

  function renderBulk() {
    const retry = document.getElementById("bulk-retry");
    const cancel = document.getElementById("bulk-cancel");
    const bulk = counts && counts.bulk;
    const hint = document.getElementById("jobs-hint");
    hint.textContent = counts ? `${counts.count} match · newest first` : "newest first";
    if (RW.settings.read_only || !bulk) { retry.hidden = cancel.hidden = true; return; }
    retry.hidden = bulk.retry === 0;
    retry.textContent = `Retry ${bulk.retry} failed/cancelled`;
    cancel.hidden = bulk.cancel === 0;
    cancel.textContent = `Cancel ${bulk.cancel} not finished`;
  }

  async function bulkAction(action) {
    const expected = counts.bulk[action];
    const described = Object.entries(filterObject()).map(([key, value]) => `${key} ${value}`).join(", ") || "no filter";
    const verb = action === "retry" ? "Retry" : "Cancel";
    const yes = await RW.confirmDialog(`${verb} ${expected} jobs?`,
      `Every job matching this filter (${described}) that can be ${action === "retry" ? "retried" : "cancelled"}: ${expected} of them.`,
      `${verb} ${expected}`);
    if (!yes) return;
    try {
      const answer = await api("/api/jobs/bulk", { method: "POST", json: { action, filter: filterObject(), expected } });
      RW.flash(document.getElementById("filter-error"), `${answer.changed} jobs ${action === "retry" ? "queued again" : "cancelled"}${answer.refused ? `, ${answer.refused} had moved on` : ""}.`, true);
    } catch (error) {
      alertLine(error.message);
    }
    countsAt = 0;
    reload();
  }

  // ---- the header ----

  let lastStats = null;
  window.addEventListener("resize", () => { if (lastStats) renderStats(lastStats); });

  function renderStats(stats) {
    lastStats = stats;
    document.getElementById("queued").textContent = stats.queue.queued_now;
    document.getElementById("running").textContent = stats.queue.running;
    document.getElementById("retrying").textContent = stats.queue.waiting_for_retry;
    document.getElementById("held").textContent = stats.queue.held_by_budget || 0;
    renderSpend(stats.spend);
    document.getElementById("failed-total").textContent = stats.by_status.failed || 0;
    const list = document.getElementById("workers");
    const workers = stats.workers.list;
    document.getElementById("workers-hint").textContent = workers.length
      ? `${stats.workers.active_jobs}/${stats.workers.capacity} active in all` : "";
    list.replaceChildren(...(workers.length ? workers.map((worker) => el("li", { class: worker.status === "gone" ? "gone" : "" },
      el("span", { title: worker.id }, `${worker.host}:${worker.pid}`, el("span", { class: "muted", text: ` ${worker.status}` })),
      el("span", { class: "gate", title: "active jobs / MAX_CONCURRENT_JOBS", text: `${worker.active_jobs}/${worker.max_concurrent_jobs} active` })))
      : [el("li", { class: "empty", text: "no worker has registered yet" })]));
    const providers = document.getElementById("providers");
    const names = Object.keys(stats.providers).sort();
    providers.replaceChildren(...(names.length ? names.map((name) => {
      const entry = stats.providers[name];
      return el("tr", {},
        el("td", { text: name }),
        el("td", { class: "num", text: `${entry.in_flight} / ${entry.cap === null ? "—" : entry.cap}` }),
        el("td", { class: "num", text: entry.rate_limited }),
        el("td", { class: "num", text: entry.errors }));
    }) : [el("tr", {}, el("td", { colspan: 4, class: "empty", text: "no provider used yet" }))]));
    Charts.perMinute(document.getElementById("throughput"), stats.per_minute, document.getElementById("throughput-total"));
    Charts.durations(document.getElementById("durations"), stats.durations);
  }

  // Money as the stats give it (dollars, estimated); "—" where nothing is known.
  function usd(value) {
    if (value === null || value === undefined) return "—";
    return `$${value < 10 ? value.toFixed(2) : value.toFixed(value < 1000 ? 1 : 0)}`;
  }

  function renderSpend(spend) {
    if (!spend) return;
    document.getElementById("spend-day").textContent = `${spend.day}, estimated from the price table`;
    document.getElementById("spend-today").textContent = usd(spend.today_usd);
    document.getElementById("spend-month").textContent = usd(spend.month_usd);
    document.getElementById("spend-left").textContent = spend.budget_usd === null ? "no limit"
      : `${usd(spend.budget_left_usd)} of ${usd(spend.budget_usd)}`;
    const names = Object.keys(spend.providers).sort();
    document.getElementById("spend-providers").replaceChildren(...(names.length ? names.map((name) => {
      const entry = spend.providers[name];
      const left = entry.budget_usd === null ? "no limit" : `${usd(entry.budget_left_usd)} of ${usd(entry.budget_usd)}`;
      const unpriced = entry.unpriced_jobs ? ` (+${entry.unpriced_jobs} unpriced)` : "";
      return el("tr", { class: entry.budget_usd !== null && entry.budget_left_usd <= 0 ? "spent" : "" },
        el("td", { text: name }),
        el("td", { class: "num", text: usd(entry.today_usd) + unpriced }),
        el("td", { class: "num", text: left }));
    }) : [el("tr", {}, el("td", { colspan: 3, class: "empty", text: "nothing paid for yet" }))]));
  }

  // ---- wiring ----

  readURL();
  render(RW.pageData.data || { jobs: [] });
  filterForm.addEventListener("change", onFilterChange);
  let typing = null;
  filterForm.elements.q.addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(onFilterChange, 300); });
  filterForm.addEventListener("submit", (event) => { event.preventDefault(); onFilterChange(); });
  document.getElementById("older").addEventListener("click", () => { cursor = nextCursor; reload(); });
  document.getElementById("newer").addEventListener("click", () => { cursor = null; reload(); });
  document.getElementById("bulk-retry").addEventListener("click", () => bulkAction("retry"));
  document.getElementById("bulk-cancel").addEventListener("click", () => bulkAction("cancel"));
  Queue.mount(() => { countsAt = 0; reload(); });
  reload();

  // Running times tick every second without asking the server.
  setInterval(() => {
    for (const { job, tr } of rows.values()) {
      const cell = tr.querySelector(".time");
      if (cell) cell.textContent = timeText(job);
    }
  }, 1000);

  RW.live({
    jobs(changed) {
      let stale = false;
      const newest = Math.max(0, ...rows.keys());
      for (const job of changed) {
        if (rows.has(job.id)) {
          if (!matches(job)) stale = true; else patch(job);
        } else if (!cursor && job.id > newest && matches(job)) {
          stale = true;  // a new job for the top of this page; its summary comes with the page
        }
      }
      if (filterForm.elements.q.value.trim() && changed.some((job) => !rows.has(job.id))) stale = true;
      if (stale) reload();
      if (changed.length) refreshCountsSoon();
    },
    stats: renderStats,
    resync() { countsAt = 0; reload(); },
    async poll() {
      await reload();
      renderStats(await api("/api/stats"));
    },
  });
})();
