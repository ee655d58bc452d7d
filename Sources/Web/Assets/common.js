// Shared by every page: the page's data, talking to the API, the live stream, small DOM helpers.
"use strict";

const RW = (() => {
  const pageData = JSON.parse(document.getElementById("page-data")?.textContent || "{}");
  const settings = pageData.settings || {};

  /** el("td", {class: "num", text: "3"}, child, …): one element, no innerHTML anywhere. */
  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** An API error: its JSON message (what the server says to do), its status and field. */
  class APIError extends Error {
    constructor(status, body) {
      super(body && body.error ? body.error : `HTTP ${status}`);
      this.status = status;
      this.body = body || {};
    }
  }

  /** fetch + JSON; changes send JSON (no CSRF token needed) unless a raw body is given. */
  async function api(path, options = {}) {
    const init = { method: options.method || "GET", headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (options.json !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.json);
    } else if (options.body !== undefined) {
      init.headers["Content-Type"] = options.contentType || "application/octet-stream";
      init.headers["X-CSRF-Token"] = settings.csrf;
      init.body = options.body;
    }
    const response = await fetch(path, init);
    const text = await response.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (_) { body = { error: text }; }
    if (!response.ok) throw new APIError(response.status, body);
    return body;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  /**
   * Live updates: Server-Sent Events from /api/events, and when they are not available a poll
   * that waits for each answer (and 2 s more) before asking again, so a slow server is never
   * sent a pile of requests. `handlers.jobs(event)`, `handlers.stats(stats)`, `handlers.resync()`.
   */
  function live(handlers) {
    const indicator = document.getElementById("live");
    const label = document.getElementById("live-text");
    let polling = false;
    let failures = 0;
    const show = (mode, text) => {
      if (!indicator) return;
      indicator.className = "live " + mode;
      label.textContent = text;
    };
    async function poll() {
      if (polling) return;
      polling = true;
      show("poll", "polling every 2 s");
      while (polling) {
        try { await handlers.poll(); } catch (_) { show("poll", "server unreachable; retrying"); }
        await sleep(2000);
      }
    }
    if (!("EventSource" in window)) { poll(); return; }
    const source = new EventSource("/api/events");
    let opened = false;
    source.addEventListener("open", () => {
      failures = 0;
      polling = false;
      show("on", "live");
      if (opened) handlers.resync();  // back after a break: what was missed is reloaded
      opened = true;
    });
    source.addEventListener("jobs", (message) => {
      const event = JSON.parse(message.data);
      if (event.resync) handlers.resync(); else handlers.jobs(event.jobs);
    });
    source.addEventListener("stats", (message) => handlers.stats(JSON.parse(message.data)));
    source.addEventListener("error", () => {
      failures += 1;
      if (source.readyState === EventSource.CLOSED || failures >= 3) {
        source.close();
        poll();
      } else {
        show("poll", "reconnecting…");
      }
    });
  }

  const words = {
    image_generation: "image", background_removal: "cut-out", style_analysis: "style", animation: "animation",
    video_keying: "keying", video_stitching: "stitching",
  };

  function seconds(value) {
    if (value === null || value === undefined) return "";
    if (value < 1) return `${Math.round(value * 1000)} ms`;
    if (value < 60) return `${value < 10 ? value.toFixed(1) : Math.round(value)} s`;
    if (value < 3600) return `${Math.floor(value / 60)} min ${Math.round(value % 60)} s`;
    return `${Math.floor(value / 3600)} h ${Math.round((value % 3600) / 60)} min`;
  }

  function ago(iso) {
    if (!iso) return "";
    const elapsed = (Date.now() - Date.parse(iso)) / 1000;
    if (elapsed < 5) return "just now";
    if (elapsed < 60) return `${Math.round(elapsed)} s ago`;
    if (elapsed < 3600) return `${Math.round(elapsed / 60)} min ago`;
    if (elapsed < 86400) return `${Math.round(elapsed / 3600)} h ago`;
    return new Date(iso).toLocaleDateString();
  }

  /** The time a job has run: until now while it runs (so the cell ticks), else its last run. */
  function runTime(job) {
    const running = ["processing", "keying_processing", "cancel_requested"].includes(job.status);
    if (running && job.started_at) return (Date.now() - Date.parse(job.started_at)) / 1000;
    return job.run_seconds;
  }

  function statusPill(status) {
    return el("span", { class: `status ${status}`, text: status });
  }

  function progressBar(job) {
    const bar = el("div", { class: `bar ${job.status}`, role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100 });
    const fill = el("span");
    const value = job.status === "completed" ? 1 : job.progress || 0;
    fill.style.width = `${Math.round(value * 100)}%`;
    bar.setAttribute("aria-valuenow", Math.round(value * 100));
    bar.append(fill);
    return bar;
  }

  /** A small message that goes away after a while. */
  function flash(node, text, ok) {
    node.textContent = text;
    node.className = `message ${ok ? "ok" : "bad"}`;
    node.hidden = false;
    clearTimeout(node._timer);
    node._timer = setTimeout(() => { node.hidden = true; }, ok ? 6000 : 15000);
  }

  /** An in-page confirmation (no window.confirm: it blocks the page and tests). */
  function confirmDialog(title, text, yes) {
    const dialog = document.getElementById("confirm");
    if (!dialog) return Promise.resolve(true);
    document.getElementById("confirm-title").textContent = title;
    document.getElementById("confirm-text").textContent = text;
    document.getElementById("confirm-yes").textContent = yes;
    return new Promise((resolve) => {
      const done = (answer) => () => { dialog.close(); resolve(answer); };
      document.getElementById("confirm-yes").onclick = done(true);
      document.getElementById("confirm-no").onclick = done(false);
      dialog.showModal();
    });
  }

  function applySettings() {
    const notice = document.getElementById("notice");
    if (notice && settings.notice) { notice.textContent = settings.notice; notice.hidden = false; }
    const badge = document.getElementById("read-only-badge");
    if (badge) badge.hidden = !settings.read_only;
    const logout = document.getElementById("logout");
    if (logout) logout.hidden = !settings.login;
    // The login form: where to go next, and why the last try failed.
    const next = document.getElementById("next");
    if (next && pageData.data && pageData.data.next) next.value = pageData.data.next;
    const loginError = document.getElementById("login-error");
    if (loginError && pageData.data && pageData.data.error) {
      loginError.textContent = pageData.data.error;
      loginError.hidden = false;
    }
  }
  applySettings();

  return { pageData, settings, el, api, APIError, live, sleep, words, seconds, ago, runTime, statusPill, progressBar, flash, confirmDialog };
})();
