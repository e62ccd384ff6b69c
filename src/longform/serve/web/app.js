// The longform page: start a job, follow its events, draw the plan, progress, a length chart and the text.
"use strict";
const $ = (id) => document.getElementById(id);
const state = { job: null, plan: [], written: {}, target: 0, started: 0, abort: null };

function headers(extra) {
  const key = $("key").value || localStorage.getItem("longform-key") || "";
  const h = Object.assign({}, extra || {});
  if (key) h.Authorization = "Bearer " + key;
  return h;
}

async function api(path, options) {
  const response = await fetch(path, Object.assign({}, options, { headers: headers((options || {}).headers) }));
  if (!response.ok) {
    let message = response.status + " " + response.statusText;
    try { message = (await response.json()).error.message; } catch (e) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

function show(status, isError) {
  $("status").textContent = status;
  $("status").className = isError ? "error" : "muted";
}

function sectionNode(index) {
  let node = document.querySelector(`#doc section[data-index="${index}"]`);
  if (!node) {
    node = document.createElement("section");
    node.dataset.index = index;
    $("doc").appendChild(node);
  }
  return node;
}

// Model text is markdown-ish: "## Heading" lines and blank-line paragraphs. It is drawn by building
// elements and setting textContent, never as HTML, so nothing a model writes can become markup.
const raw = {};

function setText(index, text) {
  raw[index] = text;
  const node = sectionNode(index);
  node.replaceChildren();
  for (const block of text.split(/\n\s*\n/)) {
    let rest = block.trim();
    const heading = rest.match(/^(#{1,6})[ \t]+([^\n]*)\n?/);
    if (heading) {  // a heading line, and whatever follows it without a blank line
      const h = document.createElement(`h${Math.min(6, heading[1].length + 1)}`);
      h.textContent = heading[2].trim();
      node.appendChild(h);
      rest = rest.slice(heading[0].length).trim();
    }
    if (!rest) continue;
    const paragraph = document.createElement("p");
    paragraph.textContent = rest;
    node.appendChild(paragraph);
  }
}

function addText(index, text) { setText(index, (raw[index] || "") + text); }

function drawPlan() {
  $("plan").replaceChildren();
  for (const s of state.plan) {
    const li = document.createElement("li");
    li.textContent = `${s.point} (${s.words || "?"} words)`;
    if (state.written[s.index] !== undefined) li.className = "done";
    $("plan").appendChild(li);
  }
}

const SVG = "http://www.w3.org/2000/svg";
const COLOURS = { planned: "#c9d6ea", written: "#3a7bd5" };

function svgNode(name, attributes, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

// Planned and written words per section: a bar pair per section, a word axis at the left with
// three ticks, section numbers below, and a legend.
function drawChart() {
  const svg = $("chart"), n = Math.max(1, state.plan.length);
  const max = Math.max(1, ...state.plan.map((s) => s.words || 0), ...Object.values(state.written));
  const left = 48, top = 28, height = 120, width = 600 - left - 8, w = width / n;
  const y = (words) => top + height - height * words / max;
  svg.replaceChildren();
  svg.appendChild(svgNode("line", { x1: left, y1: top, x2: left, y2: top + height, stroke: "#999" }));
  svg.appendChild(svgNode("line", { x1: left, y1: top + height, x2: left + width, y2: top + height, stroke: "#999" }));
  for (const tick of [0, Math.round(max / 2), max]) {
    svg.appendChild(svgNode("text", { x: left - 4, y: y(tick) + 4, "text-anchor": "end", "font-size": 10,
      class: "tick" }, tick.toLocaleString("en")));
  }
  svg.appendChild(svgNode("text", { x: 4, y: top - 14, "font-size": 10, class: "axis" }, "words"));
  state.plan.forEach((s, i) => {
    const written = state.written[s.index] || 0, x = left + i * w;
    for (const [kind, words, dx] of [["planned", s.words || 0, 2], ["written", written, w / 2]]) {
      const bar = svgNode("rect", { x: x + dx, y: y(words), width: Math.max(1, w / 2 - 2),
        height: top + height - y(words), fill: COLOURS[kind], class: kind });
      bar.appendChild(svgNode("title", {}, `section ${s.index}: ${kind} ${words} words`));
      svg.appendChild(bar);
    }
    svg.appendChild(svgNode("text", { x: x + w / 2, y: top + height + 12, "text-anchor": "middle", "font-size": 10,
      class: "section" }, String(s.index)));
  });
  let x = left + width - 150;
  for (const kind of ["planned", "written"]) {
    svg.appendChild(svgNode("rect", { x, y: 6, width: 10, height: 10, fill: COLOURS[kind] }));
    svg.appendChild(svgNode("text", { x: x + 14, y: 15, "font-size": 11, class: "legend" }, kind));
    x += 75;
  }
}

function drawProgress() {
  const words = Object.values(state.written).reduce((a, b) => a + b, 0);
  const share = state.target ? Math.min(1, words / state.target) : 0;
  $("bar").firstElementChild.style.width = (100 * share).toFixed(1) + "%";
  const k = Object.keys(state.written).length, n = state.plan.length || "?";
  let eta = "";
  const elapsed = (Date.now() - state.started) / 1000;
  if (words > 0 && share < 1 && elapsed > 0 && !document.body.dataset.finished) {
    const left = (state.target - words) / (words / elapsed);
    eta = `, about ${Math.max(1, Math.round(left))} s left`;
  }
  $("progress").textContent = `${words} / ${state.target} words, section ${k} of ${n}${eta}`;
  drawPlan();
  drawChart();
}

function handle(kind, data) {
  if (kind === "snapshot") {
    state.plan = data.plan || [];
    state.target = data.request.target_words;
    state.written = {};
    $("doc").replaceChildren();
    for (const key of Object.keys(raw)) delete raw[key];
    for (const s of data.sections) { state.written[s.index] = s.words; setText(s.index, s.text.trim()); }
    $("title").textContent = data.request.instruction;
    $("title").className = "";
    show(data.status);
  } else if (kind === "plan") {
    state.plan = data.sections;
  } else if (kind === "section_start") {
    sectionNode(data.index).className = "writing";
  } else if (kind === "delta") {
    addText(data.index, data.text);
  } else if (kind === "reset") {
    setText(data.index, "");
  } else if (kind === "section") {
    const node = sectionNode(data.index);
    setText(data.index, data.text.trim());
    node.className = "";
    state.written[data.index] = data.words;
  } else if (kind === "running") {
    show("running");
  } else if (["done", "failed", "cancelled"].includes(kind)) {
    show(kind === "done" ? `done: ${data.words} words` : `${kind}${data.error ? ": " + data.error : ""}`, kind !== "done");
    $("cancel").hidden = true;
    $("download").hidden = !(kind === "done");
    document.body.dataset.finished = kind;
    loadRuns();
  }
  drawProgress();
}

async function follow(jobId) {
  if (state.abort) state.abort.abort();
  state.abort = new AbortController();
  state.job = jobId;
  state.started = Date.now();
  delete document.body.dataset.finished;
  $("download").hidden = true;
  $("cancel").hidden = false;
  $("download").onclick = download;
  $("download").href = "#";
  const response = await api(`/v1/jobs/${jobId}/events`, { signal: state.abort.signal });
  const reader = response.body.getReader(), decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const kind = (block.match(/^event: (.*)$/m) || [])[1] || "message";
      const data = (block.match(/^data: (.*)$/m) || [])[1];
      if (data) handle(kind, JSON.parse(data));
    }
  }
}

async function download(event) {
  event.preventDefault();
  const blob = await (await api(`/v1/jobs/${state.job}/document`)).blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `${state.job}.md`;
  link.click();
}

async function loadRuns() {
  try {
    const jobs = (await (await api("/v1/jobs")).json()).data;
    $("runs").replaceChildren();
    for (const job of jobs) {
      const li = document.createElement("li"), title = document.createElement("b");
      const text = job.request.instruction.trim();
      title.textContent = text.length > 60 ? text.slice(0, 59).trimEnd() + "…" : text;
      title.title = text;
      const line = document.createElement("span");
      line.textContent = `${job.status}, ${(job.words || 0).toLocaleString("en")} of ${job.request.target_words.toLocaleString("en")} words`;
      li.append(title, document.createElement("br"), line);
      li.onclick = () => follow(job.id).catch((e) => show(e.message, true));
      $("runs").appendChild(li);
    }
  } catch (e) { show(e.message, true); }
}

$("form").onsubmit = async (event) => {
  event.preventDefault();
  localStorage.setItem("longform-key", $("key").value);
  try {
    const body = { instruction: $("instruction").value, target_words: Number($("words").value), model: $("model").value };
    const job = await (await api("/v1/jobs", { method: "POST", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json" } })).json();
    loadRuns();
    await follow(job.id);
  } catch (e) { show(e.message, true); }
};
$("cancel").onclick = () => api(`/v1/jobs/${state.job}/cancel`, { method: "POST", body: "{}",
  headers: { "Content-Type": "application/json" } }).catch((e) => show(e.message, true));
loadRuns();
