// convzoo's page: #predict (draw or upload an image, POST it to /api/inspect, show the top-5
// classes and every layer's feature maps) and #runs (each run's curves from /api/runs).
// Plain ES2020, no dependencies. document.body.dataset.state is "loading", "ready" (runs
// loaded), "busy" (a prediction is on its way), "done" (a prediction is rendered) or "error"
// (the red banner shows a message): the browser test waits on it.
"use strict";

const $ = (id) => document.getElementById(id);

// el("p", {class: "x"}, "text", child, ...): a new element; null/undefined children are skipped.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c === undefined || c === null) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

const S = {
  runs: [],
  runId: null,       // selected finished run's id
  lastImage: null,   // last image sent, re-sent when the run changes
  seq: 0,            // answers to older requests are dropped
  loaded: false,     // /api/runs answered once
  predicted: false,  // a prediction was rendered
  errorFrom: null,   // "runs" or "predict": what raised the banner
  poll: null,
};

const POLL_MS = 3000;

function setState(s) { document.body.dataset.state = s; }

function showError(message, from) {
  $("error-text").textContent = message;
  $("error").hidden = false;
  S.errorFrom = from;
  setState("error");
}

function clearError() {
  $("error").hidden = true;
  S.errorFrom = null;
}

// GET (body undefined) or POST raw bytes; resolves to the parsed JSON, rejects with the
// server's {"error": "..."} message.
async function api(path, body) {
  const opts = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/octet-stream" },
    body,
  };
  let res;
  try {
    res = await fetch(path, opts);
  } catch (e) {
    throw new Error(`cannot reach the server (${e.message})`);
  }
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch (_) { /* not JSON: handled below */ }
  if (!res.ok) {
    const msg = json && typeof json.error === "string"
      ? json.error
      : (text.trim().split("\n")[0] || res.statusText || "request failed");
    throw new Error(`${msg} (HTTP ${res.status})`);
  }
  if (json === null) throw new Error(`${path.split("?")[0]}: the answer is not JSON`);
  return json;
}

// ---------------------------------------------------------------- formatting

const fixed = (v, d) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(d) : "–");
const shapeText = (s) => (Array.isArray(s) ? s.join("×") : "–");
const fmtMs = (v) => (typeof v === "number" && Number.isFinite(v) ? `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms` : "–");
const fmtInt = (v) => (typeof v === "number" && Number.isFinite(v) ? v.toLocaleString("en-US") : "–");
const pct = (p) => `${(Math.max(0, Math.min(1, p || 0)) * 100).toFixed(1)}%`;
const png = (b64) => `data:image/png;base64,${b64}`;

// ---------------------------------------------------------------- views

function currentView() { return location.hash === "#runs" ? "runs" : "predict"; }

function route() {
  const view = currentView();
  for (const v of ["predict", "runs"]) {
    $(`view-${v}`).hidden = v !== view;
    const tab = $(`tab-${v}`);
    tab.classList.toggle("active", v === view);
    if (v === view) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  if (view === "runs") renderRuns();
}

// ---------------------------------------------------------------- runs

async function loadRuns() {
  clearTimeout(S.poll);
  try {
    const json = await api("/api/runs");
    S.runs = Array.isArray(json.runs) ? json.runs : [];
    const first = !S.loaded;
    S.loaded = true;
    updateSelector();
    renderSummary();
    if (currentView() === "runs") renderRuns();
    if (first) {
      if (S.errorFrom === "runs") clearError();
      setState("ready");
    } else if (S.errorFrom === "runs") {
      clearError();
      setState(S.predicted ? "done" : "ready");
    }
    if (S.runs.some((r) => !r.finished)) S.poll = setTimeout(loadRuns, POLL_MS);
  } catch (e) {
    showError(`Loading the runs failed: ${e.message}`, "runs");
    S.poll = setTimeout(loadRuns, POLL_MS);
  }
}

function selectedRun() { return S.runs.find((r) => r.id === S.runId) || null; }

function updateSelector() {
  const sel = $("run");
  const finished = S.runs.filter((r) => r.finished);
  const key = finished.map((r) => `${r.id}:${r.name}`).join("|");
  if (sel.dataset.key === key) return;
  sel.dataset.key = key;
  sel.replaceChildren();
  if (!finished.length) {
    sel.append(el("option", { value: "" }, S.runs.length ? "no finished run yet (training…)" : "no runs"));
    sel.disabled = true;
    S.runId = null;
    return;
  }
  sel.disabled = false;
  for (const r of finished) {
    sel.append(el("option", { value: r.id }, `${r.name} — ${r.model} · ${r.data}`));
  }
  if (!finished.some((r) => r.id === S.runId)) S.runId = finished[0].id;
  sel.value = String(S.runId);
}

function renderSummary() {
  const run = selectedRun();
  const section = $("summary-section");
  $("run-info").textContent = run
    ? `${run.model} · ${run.data} · ${(run.classes || []).length} classes · ${fmtInt(run.parameters)} parameters`
    : "";
  const table = $("summary");
  const body = table.tBodies[0];
  const foot = table.tFoot;
  body.replaceChildren();
  foot.replaceChildren();
  if (!run || !Array.isArray(run.summary) || !run.summary.length) {
    section.hidden = true;
    return;
  }
  section.hidden = false;
  $("summary-caption").textContent = `${run.model} · input ${run.channels}×${run.size}×${run.size}`;
  for (const row of run.summary) {
    body.append(el("tr", null,
      el("td", { class: "mono" }, row.name),
      el("td", null, row.layer),
      el("td", { class: "mono" }, shapeText(row.shape)),
      el("td", { class: "num" }, fmtInt(row.params))));
  }
  foot.append(el("tr", null,
    el("td", { colspan: 3 }, "Total parameters"),
    el("td", { class: "num" }, fmtInt(run.parameters))));
}

function renderRuns() {
  const box = $("runs");
  box.replaceChildren();
  if (!S.loaded) {
    box.append(el("p", { class: "placeholder" }, "loading runs…"));
    return;
  }
  if (!S.runs.length) {
    box.append(el("p", { class: "placeholder" }, "No runs yet: ", el("code", null, "cargo xtask train"), " makes one under runs/."));
    return;
  }
  for (const run of S.runs) box.append(runCard(run));
  for (const c of box.querySelectorAll("canvas.curves")) drawCurves(c, c.epochs);
}

function runCard(run) {
  const epochs = run.metrics && Array.isArray(run.metrics.epochs) ? run.metrics.epochs : [];
  const last = epochs[epochs.length - 1];
  const stat = (label, value) => el("div", null, el("dt", null, label), el("dd", null, value));
  const card = el("article", { class: `card run${run.finished ? "" : " training"}` },
    el("header", { class: "run-head" },
      el("h3", null, run.name),
      run.finished
        ? el("span", { class: "badge done" }, "finished")
        : el("span", { class: "badge live" }, "training…")),
    el("p", { class: "muted small" },
      `${run.model} · ${run.data} · ${(run.classes || []).length} classes · input ${run.channels}×${run.size}×${run.size} · ${fmtInt(run.parameters)} parameters`),
    el("dl", { class: "stats" },
      stat("epochs", String(epochs.length)),
      stat("train loss", last ? fixed(last.train_loss, 3) : "–"),
      stat("train acc", last ? fixed(last.train_acc, 3) : "–"),
      stat("test acc", last ? fixed(last.test_acc, 3) : "–"),
      stat("images/s", last ? fmtInt(Math.round(last.train_images_per_sec)) : "–")));
  if (epochs.length) {
    const canvas = el("canvas", { class: "curves", role: "img", "aria-label": `${run.name}: train loss, train acc and test acc per epoch` });
    canvas.epochs = epochs;
    card.append(canvas);
  } else {
    card.append(el("p", { class: "placeholder small" }, "No epoch finished yet."));
  }
  return card;
}

const SERIES = [
  { key: "train_loss", label: "train loss", color: "#1f77b4", dash: [] },
  { key: "train_acc", label: "train acc", color: "#bf00bf", dash: [7, 4] },
  { key: "test_acc", label: "test acc", color: "#008000", dash: [9, 3, 2, 3] },
];

// A step of 1, 2 or 5 times a power of ten giving about `count` intervals over `span`.
function niceStep(span, count) {
  const raw = span / Math.max(1, count);
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (raw <= m * p) return m * p;
  return 10 * p;
}

// d2l's plot: the three curves per epoch on one pair of axes, legend above, "epoch" below.
function drawCurves(canvas, epochs) {
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (!w || !h || !epochs) return;
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);

  const m = { l: 50, r: 14, t: 30, b: 40 };
  const pw = w - m.l - m.r;
  const ph = h - m.t - m.b;
  const xs = epochs.map((e) => e.epoch);
  const xmin = Math.min(1, ...xs);
  const xmax = Math.max(xmin + 1, ...xs);
  const values = [];
  for (const e of epochs) for (const s of SERIES) if (Number.isFinite(e[s.key])) values.push(e[s.key]);
  const ystep = niceStep(Math.max(1, ...values), 5);
  const ymax = Math.max(ystep, Math.ceil(Math.max(1, ...values) / ystep - 1e-9) * ystep);
  const X = (x) => m.l + ((x - xmin) / (xmax - xmin)) * pw;
  const Y = (y) => m.t + ph - (y / ymax) * ph;

  ctx.font = "12px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
  ctx.lineWidth = 1;

  // grid and tick labels
  ctx.strokeStyle = "#e6e8ec";
  ctx.fillStyle = "#555b66";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  const ydigits = ystep < 1 ? Math.ceil(-Math.log10(ystep) - 1e-9) : 0;
  for (let y = 0; y <= ymax + 1e-9; y += ystep) {
    ctx.beginPath(); ctx.moveTo(m.l, Y(y) + 0.5); ctx.lineTo(m.l + pw, Y(y) + 0.5); ctx.stroke();
    ctx.fillText(y.toFixed(ydigits), m.l - 6, Y(y));
  }
  const xstep = Math.max(1, Math.round(niceStep(xmax - xmin, 8)));
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (let x = xmin; x <= xmax + 1e-9; x += xstep) {
    ctx.beginPath(); ctx.moveTo(X(x) + 0.5, m.t); ctx.lineTo(X(x) + 0.5, m.t + ph); ctx.stroke();
    ctx.fillText(String(x), X(x), m.t + ph + 5);
  }

  // axes box and labels
  ctx.strokeStyle = "#8a909b";
  ctx.strokeRect(m.l + 0.5, m.t + 0.5, pw, ph);
  ctx.fillStyle = "#333a45";
  ctx.fillText("epoch", m.l + pw / 2, m.t + ph + 22);
  ctx.save();
  ctx.translate(13, m.t + ph / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = "middle";
  ctx.fillText("loss / accuracy", 0, 0);
  ctx.restore();

  // curves, with a dot per epoch so a single epoch shows too
  for (const s of SERIES) {
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    ctx.lineWidth = 2;
    ctx.setLineDash(s.dash);
    ctx.beginPath();
    let pen = false;
    for (const e of epochs) {
      const v = e[s.key];
      if (!Number.isFinite(v)) { pen = false; continue; }
      if (pen) ctx.lineTo(X(e.epoch), Y(v));
      else ctx.moveTo(X(e.epoch), Y(v));
      pen = true;
    }
    ctx.stroke();
    ctx.setLineDash([]);
    for (const e of epochs) {
      const v = e[s.key];
      if (!Number.isFinite(v)) continue;
      ctx.beginPath(); ctx.arc(X(e.epoch), Y(v), 2.5, 0, 2 * Math.PI); ctx.fill();
    }
  }

  // legend in the top margin
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  let lx = m.l;
  const ly = 13;
  for (const s of SERIES) {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 2;
    ctx.setLineDash(s.dash);
    ctx.beginPath(); ctx.moveTo(lx, ly); ctx.lineTo(lx + 26, ly); ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = "#333a45";
    ctx.fillText(s.label, lx + 32, ly);
    lx += 32 + ctx.measureText(s.label).width + 18;
  }
}

// ---------------------------------------------------------------- predict

async function inspect(blob) {
  S.lastImage = blob;
  if (S.runId === null) {
    showError(S.loaded ? "No finished run to predict with yet: a run can predict once its training has finished."
      : "The runs have not loaded yet.", "predict");
    return;
  }
  const seq = ++S.seq;
  setState("busy");
  $("busy").hidden = false;
  $("result").classList.add("busy");
  try {
    const json = await api(`/api/inspect?run=${encodeURIComponent(S.runId)}`, blob);
    if (seq !== S.seq) return;
    await renderResult(json);
    if (seq !== S.seq) return;
    clearError();
    S.predicted = true;
    setState("done");
  } catch (e) {
    if (seq === S.seq) showError(`Prediction failed: ${e.message}`, "predict");
  } finally {
    if (seq === S.seq) {
      $("busy").hidden = true;
      $("result").classList.remove("busy");
    }
  }
}

async function renderResult(json) {
  const classes = Array.isArray(json.classes) ? json.classes : [];
  const input = json.input || {};
  $("result-empty").hidden = true;
  $("result-body").hidden = false;

  const img = $("input-image");
  if (input.png) img.src = png(input.png);
  else img.removeAttribute("src");
  $("input-caption").textContent = `as the model sees it · ${shapeText(input.shape)}`;

  $("top-class").textContent = classes.length ? classes[0].name : "–";
  const bars = $("bars");
  bars.replaceChildren();
  classes.forEach((c, i) => {
    const fill = el("span", { class: "fill" });
    fill.style.width = pct(c.prob);
    bars.append(el("li", { class: i === 0 ? "bar first" : "bar" },
      el("span", { class: "name", title: c.name }, c.name),
      el("span", { class: "track" }, fill),
      el("span", { class: "pct" }, pct(c.prob))));
  });
  $("ms").textContent = fmtMs(json.ms);
  $("result-run").textContent = `${json.model || "?"} · ${json.run || "?"}`;

  const layers = Array.isArray(json.layers) ? json.layers : [];
  const box = $("layers");
  box.replaceChildren();
  for (const layer of layers) box.append(layerPanel(layer));
  $("layers-section").hidden = !layers.length;

  // "done" means painted: wait until every image has decoded (a broken one doesn't block).
  const imgs = [img, ...box.querySelectorAll("img")].filter((i) => i.getAttribute("src"));
  await Promise.all(imgs.map((i) => i.decode().catch(() => {})));
}

function layerPanel(layer) {
  const maps = Array.isArray(layer.maps) ? layer.maps : [];
  const shape = Array.isArray(layer.shape) ? layer.shape : [];
  const channels = shape.length === 4 ? shape[1] : null;
  let note = null;
  if (!maps.length) note = "no spatial output";
  else if (channels && channels > maps.length) note = `first ${maps.length} of ${channels} channels`;
  else if (channels) note = `${maps.length} channel${maps.length === 1 ? "" : "s"}`;
  const grid = el("div", { class: "maps" });
  maps.forEach((b64, i) => {
    grid.append(el("img", {
      class: "fmap",
      src: png(b64),
      alt: `${layer.name} channel ${i}`,
      title: `${layer.name} · channel ${i}`,
      loading: "eager",
    }));
  });
  return el("div", { class: maps.length ? "layer" : "layer flat" },
    el("div", { class: "layer-info" },
      el("span", { class: "layer-name mono" }, layer.name),
      el("span", { class: "layer-type" }, layer.layer),
      el("span", { class: "layer-shape mono" }, shapeText(shape)),
      el("span", { class: "layer-ms muted" }, fmtMs(layer.ms)),
      note ? el("span", { class: "layer-note muted" }, note) : null),
    maps.length ? grid : null);
}

// The pad: white strokes on black, mouse, pen and touch (pointer events; mouse and touch
// events where those are missing). The drawing goes to /api/inspect when the stroke ends.
function setupPad() {
  const c = $("pad");
  const ctx = c.getContext("2d");
  const clear = () => {
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, c.width, c.height);
  };
  clear();
  let drawing = false;
  let last = null;
  let pointer = null;
  const pos = (e) => {
    const r = c.getBoundingClientRect();
    return [(e.clientX - r.left) * (c.width / r.width), (e.clientY - r.top) * (c.height / r.height)];
  };
  const line = (a, b) => {
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 22;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(a[0], a[1]);
    ctx.lineTo(b[0], b[1]);
    ctx.stroke();
  };
  const start = (p) => { drawing = true; last = p; line(p, p); };
  const move = (p) => { if (!drawing) return; line(last, p); last = p; };
  const end = () => {
    if (!drawing) return;
    drawing = false;
    c.toBlob((blob) => {
      if (blob) inspect(blob);
      else showError("The drawing could not be turned into a PNG.", "predict");
    }, "image/png");
  };

  if (window.PointerEvent) {
    c.addEventListener("pointerdown", (e) => {
      if (e.button > 0 || drawing) return;
      e.preventDefault();
      pointer = e.pointerId;
      try { c.setPointerCapture(e.pointerId); } catch (_) { /* synthetic pointers */ }
      start(pos(e));
    });
    c.addEventListener("pointermove", (e) => {
      if (!drawing || e.pointerId !== pointer) return;
      const evs = typeof e.getCoalescedEvents === "function" ? e.getCoalescedEvents() : [];
      for (const ev of evs.length ? evs : [e]) move(pos(ev));
    });
    const stop = (e) => { if (e.pointerId === pointer) end(); };
    c.addEventListener("pointerup", stop);
    c.addEventListener("pointercancel", stop);
  } else {
    c.addEventListener("mousedown", (e) => { if (e.button === 0) { e.preventDefault(); start(pos(e)); } });
    window.addEventListener("mousemove", (e) => move(pos(e)));
    window.addEventListener("mouseup", end);
    c.addEventListener("touchstart", (e) => { e.preventDefault(); start(pos(e.touches[0])); }, { passive: false });
    c.addEventListener("touchmove", (e) => { e.preventDefault(); move(pos(e.touches[0])); }, { passive: false });
    c.addEventListener("touchend", (e) => { e.preventDefault(); end(); }, { passive: false });
    c.addEventListener("touchcancel", end);
  }
  $("clear").addEventListener("click", clear);
}

function setupFiles() {
  const input = $("file");
  input.addEventListener("change", () => {
    const f = input.files && input.files[0];
    if (f) inspect(f);
    input.value = "";  // choosing the same file again fires change again
  });
  const drop = $("drop");
  for (const t of ["dragenter", "dragover"]) {
    drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); });
  }
  drop.addEventListener("dragleave", (e) => {
    if (!drop.contains(e.relatedTarget)) drop.classList.remove("over");
  });
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const f = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
    if (f) inspect(f);
    else showError("Nothing to read in what was dropped: drop an image file.", "predict");
  });
  // a file dropped beside the zone would make the browser leave the page
  for (const t of ["dragover", "drop"]) window.addEventListener(t, (e) => e.preventDefault());
}

function init() {
  setupPad();
  setupFiles();
  $("run").addEventListener("change", (e) => {
    const id = S.runs.find((r) => String(r.id) === e.target.value);
    S.runId = id ? id.id : null;
    renderSummary();
    if (S.lastImage && S.runId !== null) inspect(S.lastImage);
  });
  $("error-close").addEventListener("click", () => {
    clearError();
    setState(S.predicted ? "done" : S.loaded ? "ready" : "loading");
  });
  window.addEventListener("hashchange", route);
  let resize = null;
  window.addEventListener("resize", () => {
    clearTimeout(resize);
    resize = setTimeout(() => {
      for (const c of document.querySelectorAll("canvas.curves")) drawCurves(c, c.epochs);
    }, 100);
  });
  route();
  loadRuns();
}

init();
