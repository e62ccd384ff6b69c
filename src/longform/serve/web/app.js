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

function drawPlan() {
  $("plan").innerHTML = "";
  for (const s of state.plan) {
    const li = document.createElement("li");
    li.textContent = `${s.point} (${s.words || "?"} words)`;
    if (state.written[s.index] !== undefined) li.className = "done";
    $("plan").appendChild(li);
  }
}

function drawChart() {
  const svg = $("chart"), n = Math.max(1, state.plan.length);
  const max = Math.max(1, ...state.plan.map((s) => s.words || 0), ...Object.values(state.written));
  const w = 600 / n, parts = [];
  state.plan.forEach((s, i) => {
    const planned = 140 * (s.words || 0) / max, done = 140 * (state.written[s.index] || 0) / max;
    parts.push(`<rect x="${i * w + 2}" y="${150 - planned}" width="${w / 2 - 2}" height="${planned}" fill="#c9d6ea"><title>planned ${s.words}</title></rect>`);
    parts.push(`<rect x="${i * w + w / 2}" y="${150 - done}" width="${w / 2 - 2}" height="${done}" fill="#3a7bd5"><title>written ${state.written[s.index] || 0}</title></rect>`);
  });
  svg.innerHTML = parts.join("");
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
    $("doc").innerHTML = "";
    for (const s of data.sections) { state.written[s.index] = s.words; sectionNode(s.index).textContent = s.text.trim(); }
    $("title").textContent = data.request.instruction;
    $("title").className = "";
    show(data.status);
  } else if (kind === "plan") {
    state.plan = data.sections;
  } else if (kind === "section_start") {
    sectionNode(data.index).className = "writing";
  } else if (kind === "delta") {
    sectionNode(data.index).textContent += data.text;
  } else if (kind === "reset") {
    sectionNode(data.index).textContent = "";
  } else if (kind === "section") {
    const node = sectionNode(data.index);
    node.textContent = data.text.trim();
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
    $("runs").innerHTML = "";
    for (const job of jobs) {
      const li = document.createElement("li");
      li.innerHTML = `<b></b><br><span></span>`;
      li.querySelector("b").textContent = job.request.instruction.slice(0, 60);
      li.querySelector("span").textContent = `${job.status}, ${job.request.target_words} words`;
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
