// The prediction page: a form built from the API's feature contract (GET /features), POST /predict, the result on a
// scale. Plain JavaScript, no build step, nothing from a CDN. The API key, when the server asks for one, is kept in
// sessionStorage (this tab only): never in a URL, never in localStorage.
"use strict";

const KEY_STORAGE = "bodyfat-api-key";
const SCALE_MAX = 50;
// Body-fat categories for men (American Council on Exercise), in %.
const BANDS = [
  { name: "essential", from: 2, to: 6, color: "#9ecae1" },
  { name: "athletic", from: 6, to: 14, color: "#a1d99b" },
  { name: "fitness", from: 14, to: 18, color: "#d9f0a3" },
  { name: "average", from: 18, to: 25, color: "#fdd49e" },
  { name: "obese", from: 25, to: SCALE_MAX, color: "#fc9272" },
];
// Units people measure in, and the factor that converts each to the dataset's unit.
const UNIT_CHOICES = {
  lb: { lb: 1, kg: 2.2046226218 },
  in: { in: 1, cm: 1 / 2.54 },
  cm: { cm: 1, in: 2.54 },
};

let features = [];
let example = {};

const $ = (id) => document.getElementById(id);

function round(value, digits) {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function factor(feature, unit) {
  return (UNIT_CHOICES[feature.unit] || { [feature.unit]: 1 })[unit];
}

function chosenUnit(feature) {
  const select = $(`unit-${feature.name}`);
  return select ? select.value : feature.unit;
}

// The API's own wording (pydantic), with the limit in the unit the person entered (80 lb is quoted as 36.3 kg).
function rangeMessage(value, feature) {
  const unit = chosenUnit(feature);
  const f = factor(feature, unit);
  if (value < feature.low) return `Input should be greater than or equal to ${round(feature.low / f, 1)} (${unit})`;
  if (value > feature.high) return `Input should be less than or equal to ${round(feature.high / f, 1)} (${unit})`;
  return null;
}

function withUnit(message, feature) {
  const unit = chosenUnit(feature);
  if (unit === feature.unit) return `${message} (${feature.unit})`;
  return `${message} ${feature.unit} (the model's unit; you entered ${unit})`;
}

function buildForm() {
  const container = $("fields");
  container.replaceChildren();
  for (const feature of features) {
    const wrap = document.createElement("div");
    wrap.className = "field";
    const units = Object.keys(UNIT_CHOICES[feature.unit] || { [feature.unit]: 1 });
    const select = units.length > 1
      ? `<select id="unit-${feature.name}" aria-label="${feature.name} unit">${units
        .map((u) => `<option value="${u}">${u}</option>`).join("")}</select>`
      : `<span class="hint">${feature.unit}</span>`;
    wrap.innerHTML = `
      <label for="f-${feature.name}">${feature.name}</label>
      <span class="hint" id="hint-${feature.name}"></span>
      <div class="row">
        <input id="f-${feature.name}" name="${feature.name}" inputmode="decimal" autocomplete="off"
               aria-describedby="hint-${feature.name} err-${feature.name}">
        ${select}
      </div>
      <span class="error" id="err-${feature.name}"></span>`;
    container.appendChild(wrap);
    const unitSelect = $(`unit-${feature.name}`);
    if (unitSelect) {
      unitSelect.addEventListener("change", (event) => {
        convertInput(feature, event.target.dataset.previous || feature.unit, event.target.value);
        event.target.dataset.previous = event.target.value;
        updateHint(feature);
      });
    }
    updateHint(feature);
  }
}

function updateHint(feature) {
  const unit = chosenUnit(feature);
  const f = factor(feature, unit);
  const low = round(feature.low / f, 1);
  const high = round(feature.high / f, 1);
  $(`hint-${feature.name}`).textContent = `${feature.description}, ${low}–${high} ${unit}`;
}

function convertInput(feature, fromUnit, toUnit) {
  const input = $(`f-${feature.name}`);
  const value = Number(input.value);
  if (input.value.trim() === "" || !Number.isFinite(value)) return;
  input.value = String(round((value * factor(feature, fromUnit)) / factor(feature, toUnit), 2));
}

function fillExample() {
  for (const feature of features) {
    const select = $(`unit-${feature.name}`);
    if (select) {
      select.value = feature.unit;
      select.dataset.previous = feature.unit;
      updateHint(feature);
    }
    $(`f-${feature.name}`).value = String(example[feature.name]);
  }
  clearErrors();
  setStatus("Example filled in: row 1 of the dataset.");
}

function setFieldError(name, message) {
  const input = $(`f-${name}`);
  const slot = $(`err-${name}`);
  if (!input || !slot) return false;
  input.setAttribute("aria-invalid", message ? "true" : "false");
  slot.textContent = message || "";
  return true;
}

function clearErrors() {
  for (const feature of features) setFieldError(feature.name, null);
}

function setStatus(text, isError = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

// Values in the model's units, or the per-field messages that stop the request.
function collect() {
  const record = {};
  const errors = {};
  for (const feature of features) {
    const raw = $(`f-${feature.name}`).value.trim();
    if (raw === "") {
      errors[feature.name] = "Field required";
      continue;
    }
    const value = Number(raw);
    if (!Number.isFinite(value)) {
      errors[feature.name] = "Input should be a valid number";
      continue;
    }
    const converted = round(value * factor(feature, chosenUnit(feature)), 3);
    const problem = rangeMessage(converted, feature);
    if (problem) errors[feature.name] = problem;
    record[feature.name] = converted;
  }
  return { record, errors };
}

function showErrors(errors) {
  clearErrors();
  const names = Object.keys(errors);
  for (const name of names) setFieldError(name, errors[name]);
  if (names.length) {
    setStatus(`${names.length} field${names.length > 1 ? "s" : ""} need${names.length > 1 ? "" : "s"} attention: ${names.join(", ")}.`, true);
    $(`f-${names[0]}`).focus();
  }
}

async function submit(event) {
  if (event) event.preventDefault();
  // A failed submit must not leave the previous person's estimate under its error.
  $("result").hidden = true;
  const { record, errors } = collect();
  if (Object.keys(errors).length) {
    showErrors(errors);
    return;
  }
  clearErrors();
  $("sent").textContent = JSON.stringify(record, null, 2);
  setStatus("Estimating…");
  const headers = { "Content-Type": "application/json" };
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) headers["X-API-Key"] = key;
  let response;
  try {
    response = await fetch("/predict", { method: "POST", headers, body: JSON.stringify(record) });
  } catch (error) {
    setStatus(`The API could not be reached: ${error}`, true);
    return;
  }
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) {
    sessionStorage.removeItem(KEY_STORAGE);
    $("key-form").hidden = false;
    setStatus(key ? "That API key was refused: enter it again." : "This server needs an API key.", true);
    $("api-key").focus();
    return;
  }
  if (response.status === 422) {
    const apiErrors = {};
    for (const detail of body.detail || []) {
      const feature = features.find((f) => f.name === detail.field);
      if (feature && !apiErrors[feature.name]) apiErrors[feature.name] = withUnit(detail.msg, feature);
    }
    showErrors(apiErrors);
    if (!Object.keys(apiErrors).length) setStatus(`The API refused the input (${body.code}).`, true);
    return;
  }
  if (!response.ok) {
    setStatus(`The API answered ${response.status}: ${body.detail || body.code || "error"}`, true);
    return;
  }
  showResult(body);
}

function category(value) {
  if (value < BANDS[0].from) return "below essential fat";
  return (BANDS.find((band) => value >= band.from && value < band.to) || BANDS[BANDS.length - 1]).name;
}

function percentOfScale(value) {
  return `${Math.min(100, Math.max(0, (value / SCALE_MAX) * 100))}%`;
}

// The model that answered this request, from the answer itself: the alias may move between two requests.
function modelLine(body) {
  const source = body.model_source === "registry"
    ? "the MLflow registry"
    : "the bundled fallback: the registry has no champion or cannot be reached";
  return `Answered by model ${body.model_name}, version ${body.model_version}, from ${source}.`;
}

function showResult(body) {
  const value = body.body_fat_pct;
  $("result").hidden = false;
  $("estimate-value").textContent = value.toFixed(1);
  $("estimate-category").textContent = `(${category(value)})`;
  $("interval-text").textContent =
    `90 % interval: ${body.interval_low.toFixed(1)} – ${body.interval_high.toFixed(1)} % body fat.`;
  const bar = $("interval-bar");
  bar.style.left = percentOfScale(body.interval_low);
  bar.style.width = `calc(${percentOfScale(body.interval_high)} - ${percentOfScale(body.interval_low)})`;
  $("marker").style.left = percentOfScale(value);
  const warnings = body.warnings || [];
  const slot = $("warnings");
  slot.hidden = warnings.length === 0;
  slot.replaceChildren(...warnings.map((warning) => {
    const line = document.createElement("p");
    line.textContent = `Warning: ${warning.message}`;
    return line;
  }));
  $("model-text").textContent = modelLine(body);
  setStatus(`Estimated ${value.toFixed(1)} % body fat (${category(value)}); 90 % interval ` +
    `${body.interval_low.toFixed(1)} to ${body.interval_high.toFixed(1)}.` +
    (warnings.length ? " Unlike anyone the model was trained on: see the warning." : ""));
}

function buildScale() {
  const bands = $("bands");
  const first = document.createElement("div");
  first.className = "band";
  first.style.width = percentOfScale(BANDS[0].from);
  first.style.background = "#e0e0e0";
  bands.appendChild(first);
  for (const band of BANDS) {
    const el = document.createElement("div");
    el.className = "band";
    el.style.width = `calc(${percentOfScale(band.to)} - ${percentOfScale(band.from)})`;
    el.style.background = band.color;
    el.textContent = band.name;
    bands.appendChild(el);
  }
  const ticks = $("ticks");
  for (let t = 0; t <= SCALE_MAX; t += 10) {
    const tick = document.createElement("span");
    tick.style.left = percentOfScale(t);
    tick.textContent = `${t}%`;
    ticks.appendChild(tick);
  }
}

async function start() {
  buildScale();
  $("measurements").addEventListener("submit", submit);
  $("fill-example").addEventListener("click", fillExample);
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("api-key").value;
    if (!key) return;
    sessionStorage.setItem(KEY_STORAGE, key);
    $("api-key").value = "";
    $("key-form").hidden = true;
    submit();
  });
  try {
    const response = await fetch("/features");
    const body = await response.json();
    features = body.features;
    example = body.example;
  } catch (error) {
    setStatus(`The feature list could not be loaded: ${error}`, true);
    return;
  }
  buildForm();
  document.body.dataset.ready = "true";
}

start();
