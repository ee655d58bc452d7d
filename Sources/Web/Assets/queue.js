// The "Queue jobs" card: one form per job type, several jobs at once, inputs uploaded or picked
// from finished jobs. Everything goes through POST /api/jobs (and /api/uploads for files).
"use strict";

const Queue = (() => {
  const { el, api } = RW;

  /** Image models on offer, with the sizes each accepts. The API takes any model name. */
  const imageModels = [
    { id: "openai-gpt-image-1", provider: "openai", model: "gpt-image-1", label: "OpenAI · gpt-image-1", most: 4,
      sizes: { square: [1024, 1024], landscape: [1536, 1024], portrait: [1024, 1536] } },
    { id: "openai-dall-e-3", provider: "openai", model: "dall-e-3", label: "OpenAI · DALL·E 3", most: 1,
      sizes: { square: [1024, 1024], landscape: [1792, 1024], portrait: [1024, 1792] } },
    { id: "leonardo-phoenix", provider: "leonardo", model: "de7d3faf-762f-48e0-b3b7-9d0ac3a3fcf3", label: "Leonardo · Phoenix 1.0", most: 4,
      sizes: { square: [1024, 1024], landscape: [1024, 768], portrait: [768, 1024] } },
    { id: "leonardo-kino-xl", provider: "leonardo", model: "aa77f04e-3eec-4034-9c07-d0f619684628", label: "Leonardo · Kino XL", most: 4,
      sizes: { square: [1024, 1024], landscape: [1024, 768], portrait: [768, 1024] } },
    { id: "bytedance-seedream-4", provider: "bytedance", model: "seedream-4-0-250828", label: "ByteDance · Seedream 4.0", most: 4,
      sizes: { square: [2048, 2048], landscape: [2560, 1440], portrait: [1440, 2560] } },
  ];

  function field(labelText, control, options = {}) {
    const id = control.id || `q-${Math.random().toString(36).slice(2, 8)}`;
    control.id = id;
    return el("div", { class: options.wide ? "wide" : undefined }, el("label", { for: id, text: labelText }), control);
  }

  function number(id, value, min, max, step) {
    return el("input", { type: "number", id, value, min, max, step: step || 1 });
  }

  function select(id, choices, chosen) {
    return el("select", { id }, choices.map(([value, text]) => el("option", { value, text, selected: value === chosen })));
  }

  async function upload(file) {
    const answer = await api(`/api/uploads?name=${encodeURIComponent(file.name)}`, {
      method: "POST", body: file, contentType: file.type || "application/octet-stream",
    });
    return answer.path;
  }

  /** Pick an input: a finished job's output (by id) or an uploaded file. `value()` resolves to
   *  what params want: {"job": ID}, an uploaded file's path, or null when optional and empty. */
  function mediaPicker(kind, optional) {
    const name = `src-${kind}-${Math.random().toString(36).slice(2, 6)}`;
    const modes = optional ? [["none", "none"], ["job", "a finished job"], ["upload", "upload"]] : [["job", "a finished job"], ["upload", "upload"]];
    const radios = modes.map(([value, text]) =>
      el("label", { class: "choice" }, el("input", { type: "radio", name, value, checked: value === modes[0][0] }), text));
    const picker = el("select", { class: "pick" }, el("option", { value: "", text: "loading…" }));
    const file = el("input", { type: "file", accept: kind === "image" ? "image/png,image/jpeg,image/webp,image/gif" : "video/*" });
    const refresh = async () => {
      try {
        const answer = await api(`/api/inputs?kind=${kind}`);
        picker.replaceChildren(...(answer.inputs.length
          ? answer.inputs.map((input) => el("option", { value: input.job, text: `#${input.job} ${RW.words[input.type] || input.type} — ${input.summary || input.name}` }))
          : [el("option", { value: "", text: `no finished ${kind} jobs yet: upload one` })]));
      } catch (error) {
        picker.replaceChildren(el("option", { value: "", text: `cannot list jobs: ${error.message}` }));
      }
    };
    const mode = () => radios.map((r) => r.querySelector("input")).find((input) => input.checked).value;
    const update = () => {
      picker.hidden = mode() !== "job";
      file.hidden = mode() !== "upload";
    };
    radios.forEach((radio) => radio.addEventListener("change", update));
    update();
    refresh();
    const node = el("div", {}, el("div", { class: "choices" }, radios), el("div", { class: "actions-row" }, picker, file));
    return {
      node, refresh,
      async value(label) {
        if (mode() === "none") return null;
        if (mode() === "job") {
          if (!picker.value) throw new Error(`choose a finished job for ${label}, or upload a file`);
          return { job: Number(picker.value) };
        }
        if (!file.files.length) throw new Error(`choose a file to upload for ${label}`);
        return await upload(file.files[0]);
      },
    };
  }

  // One builder per job type: the form's fields and `collect()`, which returns the jobs to queue.

  function imageForm() {
    const boxes = imageModels.map((model, index) =>
      el("label", { class: "choice" }, el("input", { type: "checkbox", name: "model", value: model.id, checked: index < 3 }), model.label));
    const prompt = el("textarea", { id: "q-prompt", placeholder: "a lighthouse at dusk, oil painting", required: true });
    const negative = el("input", { type: "text", id: "q-negative", placeholder: "blurry, text" });
    const size = select("q-size", [["", "each model's default"], ["square", "square"], ["landscape", "landscape"], ["portrait", "portrait"]], "");
    const images = number("q-images", 1, 1, 4);
    const copies = number("q-copies", 1, 1, 20);
    const node = el("div", { class: "form-grid" },
      el("div", { class: "wide" }, el("label", { text: "Models (one job per model ticked)" }), el("div", { class: "choices", id: "q-models" }, boxes)),
      field("Prompt", prompt, { wide: true }), field("Negative prompt", negative), field("Size", size),
      field("Images per job", images), field("Jobs per model", copies));
    const chosen = () => boxes.map((box) => box.querySelector("input")).filter((input) => input.checked)
      .map((input) => imageModels.find((model) => model.id === input.value));
    return {
      node,
      count: () => chosen().length * Math.max(1, Number(copies.value) || 1),
      async collect() {
        if (!prompt.value.trim()) throw new Error("write a prompt");
        if (chosen().length === 0) throw new Error("tick at least one model");
        return chosen().map((model) => {
          const params = { provider: model.provider, model: model.model, prompt: prompt.value.trim() };
          if (negative.value.trim()) params.negative_prompt = negative.value.trim();
          const sides = size.value && model.sizes[size.value];
          if (sides) [params.width, params.height] = sides;
          const count = Math.min(Number(images.value) || 1, model.most);
          if (count > 1 || model.provider === "leonardo") params.num_images = count;
          return { job_type: "image_generation", params, count: Math.max(1, Number(copies.value) || 1) };
        });
      },
    };
  }

  function imageInputForm(type) {
    const picker = mediaPicker("image", false);
    const palette = number("q-palette", 6, 1, 32);
    const copies = number("q-copies-" + type, 1, 1, 20);
    const node = el("div", { class: "form-grid" },
      el("div", { class: "wide" }, el("label", { text: "Image" }), picker.node),
      type === "style_analysis" ? field("Colours in the palette", palette) : null,
      field("How many jobs", copies));
    return {
      node, picker,
      count: () => Math.max(1, Number(copies.value) || 1),
      async collect() {
        const params = { image: await picker.value("the image") };
        if (type === "style_analysis") params.palette_size = Number(palette.value) || 6;
        return [{ job_type: type, params, count: Math.max(1, Number(copies.value) || 1) }];
      },
    };
  }

  function animationForm() {
    const provider = select("q-anim-provider", [["kling", "Kling"], ["seedance", "Seedance (ByteDance)"]], "kling");
    const prompt = el("textarea", { id: "q-anim-prompt", placeholder: "the waves roll in slowly" });
    const picker = mediaPicker("image", true);
    const duration = select("q-duration", [["5", "5 s"], ["10", "10 s"]], "5");
    const copies = number("q-anim-copies", 1, 1, 20);
    const node = el("div", { class: "form-grid" },
      field("Provider", provider), field("Duration", duration), field("How many jobs", copies),
      field("Prompt (optional with an image)", prompt, { wide: true }),
      el("div", { class: "wide" }, el("label", { text: "Start from an image (optional)" }), picker.node));
    return {
      node, picker,
      count: () => Math.max(1, Number(copies.value) || 1),
      async collect() {
        const params = { provider: provider.value, duration: Number(duration.value) };
        const image = await picker.value("the image");
        if (image) params.image = image;
        if (prompt.value.trim()) params.prompt = prompt.value.trim();
        if (!params.prompt && !params.image) throw new Error("write a prompt or choose an image");
        return [{ job_type: "animation", params, count: Math.max(1, Number(copies.value) || 1) }];
      },
    };
  }

  function keyingForm() {
    const picker = mediaPicker("video", false);
    const color = el("input", { type: "color", id: "q-key-color", value: "#00ff00" });
    const similarity = el("input", { type: "range", id: "q-similarity", min: 0.01, max: 1, step: 0.01, value: 0.1 });
    const blend = el("input", { type: "range", id: "q-blend", min: 0, max: 1, step: 0.01, value: 0.05 });
    const shown = (input) => { const out = el("span", { class: "muted", text: input.value }); input.addEventListener("input", () => { out.textContent = input.value; }); return out; };
    const despill = el("input", { type: "checkbox", id: "q-despill", checked: true });
    const format = select("q-format", [["webm", "WebM (VP9 with alpha: plays in browsers)"], ["mov", "MOV (ProRes 4444: for editors)"]], "webm");
    const node = el("div", { class: "form-grid" },
      el("div", { class: "wide" }, el("label", { text: "Video" }), picker.node),
      el("div", {}, el("label", { for: color.id, text: "Key colour" }), el("div", { class: "actions-row" }, color, el("label", { class: "choice" }, despill, "remove spill"))),
      el("div", {}, el("label", { for: similarity.id, text: "Similarity" }), similarity, shown(similarity)),
      el("div", {}, el("label", { for: blend.id, text: "Blend" }), blend, shown(blend)),
      field("Format", format));
    return {
      node, picker, count: () => 1,
      async collect() {
        const params = {
          input: await picker.value("the video"), key_color: color.value.toUpperCase(),
          similarity: Number(similarity.value), blend: Number(blend.value), despill: despill.checked, format: format.value,
        };
        return [{ job_type: "video_keying", params }];
      },
    };
  }

  function stitchingForm() {
    const chosen = [];
    const list = el("ul", { class: "picked", id: "q-stitch-list" });
    const picker = el("select", { id: "q-stitch-pick" });
    const file = el("input", { type: "file", accept: "video/*" });
    const transition = select("q-transition", [["cut", "cut"], ["crossfade", "crossfade"]], "cut");
    const seconds = number("q-transition-seconds", 0.5, 0.04, 30, 0.1);
    const status = el("span", { class: "muted" });
    const redraw = () => {
      list.replaceChildren(...chosen.map((item, index) => el("li", {},
        el("strong", { text: `${index + 1}.` }), el("span", { text: item.label }),
        el("button", { type: "button", class: "small", text: "↑", disabled: index === 0, onclick: () => { chosen.splice(index - 1, 0, chosen.splice(index, 1)[0]); redraw(); } }),
        el("button", { type: "button", class: "small", text: "✕", onclick: () => { chosen.splice(index, 1); redraw(); } }))));
      if (!chosen.length) list.append(el("li", { class: "empty", text: "add two or more videos, in order" }));
    };
    const refresh = async () => {
      const answer = await api("/api/inputs?kind=video").catch(() => ({ inputs: [] }));
      picker.replaceChildren(...(answer.inputs.length
        ? answer.inputs.map((input) => el("option", { value: input.job, text: `#${input.job} ${RW.words[input.type] || input.type} — ${input.summary || input.name}` }))
        : [el("option", { value: "", text: "no finished video jobs yet: upload one" })]));
    };
    const add = el("button", { type: "button", class: "small", text: "Add", onclick: () => {
      if (!picker.value) return;
      chosen.push({ value: { job: Number(picker.value) }, label: picker.selectedOptions[0].textContent });
      redraw();
    } });
    file.addEventListener("change", async () => {
      if (!file.files.length) return;
      status.textContent = "uploading…";
      try {
        const path = await upload(file.files[0]);
        chosen.push({ value: path, label: file.files[0].name });
        status.textContent = "";
        redraw();
      } catch (error) {
        status.textContent = error.message;
      }
      file.value = "";
    });
    redraw();
    refresh();
    const node = el("div", { class: "form-grid" },
      el("div", { class: "wide" }, el("label", { text: "Videos, in order" }),
        el("div", { class: "actions-row" }, picker, add, el("span", { class: "muted", text: "or upload" }), file, status), list),
      field("Transition", transition), field("Transition seconds (crossfade)", seconds));
    return {
      node, picker: { refresh }, count: () => 1,
      async collect() {
        if (chosen.length < 2) throw new Error("add at least two videos to stitch");
        const params = { inputs: chosen.map((item) => item.value), transition: transition.value };
        if (transition.value === "crossfade") params.transition_seconds = Number(seconds.value) || 0.5;
        return [{ job_type: "video_stitching", params }];
      },
    };
  }

  const builders = [
    ["image_generation", "Images", imageForm],
    ["background_removal", "Background removal", () => imageInputForm("background_removal")],
    ["style_analysis", "Style & palette", () => imageInputForm("style_analysis")],
    ["animation", "Animation", animationForm],
    ["video_keying", "Keying", keyingForm],
    ["video_stitching", "Stitching", stitchingForm],
  ];

  function mount(onQueued) {
    const card = document.getElementById("queue-card");
    if (!card) return;
    if (RW.settings.read_only) { card.hidden = true; return; }
    const tabs = document.getElementById("queue-tabs");
    const form = document.getElementById("queue-form");
    const message = el("span", { class: "message", id: "queue-message" });
    const submit = el("button", { type: "submit", class: "primary", id: "queue-submit", text: "Queue" });
    let current = null;
    const sections = new Map();
    const relabel = () => {
      const count = current.count();
      submit.textContent = count === 1 ? "Queue 1 job" : `Queue ${count} jobs`;
    };
    const show = (type) => {
      if (!sections.has(type)) sections.set(type, builders.find(([name]) => name === type)[2]());
      current = sections.get(type);
      for (const button of tabs.children) button.setAttribute("aria-selected", button.dataset.type === type);
      form.replaceChildren(current.node, el("div", { class: "actions-row" }, submit, message));
      if (current.picker) current.picker.refresh();
      relabel();
    };
    for (const [type, label] of builders) {
      tabs.append(el("button", { type: "button", role: "tab", "data-type": type, text: label, onclick: () => show(type) }));
    }
    form.addEventListener("input", () => relabel());
    form.addEventListener("change", () => relabel());
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      submit.disabled = true;
      message.className = "message";
      message.textContent = "queueing…";
      try {
        const jobs = await current.collect();
        const answer = await api("/api/jobs", { method: "POST", json: { jobs } });
        const ids = answer.ids;
        message.replaceChildren(`Queued ${ids.length === 1 ? "job" : ids.length + " jobs"} `,
          ...ids.slice(0, 12).map((id, index) => [index ? ", " : "", el("a", { href: `/jobs/${id}`, text: `#${id}` })]).flat(),
          ids.length > 12 ? " …" : "");
        message.className = "message ok";
        onQueued(ids);
      } catch (error) {
        const problems = error.body && error.body.problems ? error.body.problems.map((p) => p.message).join("; ") : error.message;
        message.textContent = problems;
        message.className = "message bad";
      } finally {
        submit.disabled = false;
      }
    });
    show("image_generation");
  }

  return { mount };
})();
