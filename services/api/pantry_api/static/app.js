// Pantry Chef: search, show what is known at once, and insert what the engine finds, live.
"use strict";

const $ = (id) => document.getElementById(id);
let events = null;   // the EventSource of the current search
let shown = new Set(); // recipe ids in the list

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function describe(recipe) {
  const parts = [];
  if (recipe.cuisine) parts.push(recipe.cuisine);
  if (recipe.total_time_min !== null && recipe.total_time_min !== undefined) parts.push(`${recipe.total_time_min} min`);
  if (recipe.diets && recipe.diets.length) parts.push(recipe.diets.join(", "));
  return parts.join(" · ");
}

function item(recipe, isNew) {
  const li = el("li", { tabindex: "0", "data-id": String(recipe.id), class: isNew ? "new" : "" },
    el("strong", {}, recipe.title),
    isNew ? el("span", { class: "badge" }, "New") : null,
    el("div", { class: "meta" }, describe(recipe)));
  if (recipe.used) {
    // What it uses of what you have; "chicken thigh (your chicken)" where a food stands for it.
    const standsFor = new Map((recipe.substitutes || []).map((s) => [s.food, s.as]));
    const used = recipe.used.map((f) => (standsFor.has(f) ? `${f} (your ${standsFor.get(f)})` : f));
    li.append(el("div", { class: "meta used" }, `uses: ${used.length ? used.join(", ") : "nothing you have"}`));
  }
  if (recipe.missing) {
    const n = recipe.missing_count ?? recipe.missing.length;
    const text = n === 0 ? "missing nothing" : `missing ${n}: ${recipe.missing.join(", ")}`;
    li.append(el("div", { class: "meta missing" }, text));
  }
  li.addEventListener("click", () => showRecipe(recipe.id));
  li.addEventListener("keydown", (e) => { if (e.key === "Enter") showRecipe(recipe.id); });
  return li;
}

// How the search was read: the filters said in the text show beside the count.
function readAs(query) {
  const parts = [];
  if (query.q) parts.push(`“${query.q}”`);
  if (query.diet.length) parts.push(query.diet.join(", "));
  if (query.exclude.length) parts.push(`without ${query.exclude.join(", ")}`);
  if (query.max_time !== null) parts.push(`${query.max_time} min or less`);
  return parts.length ? ` for ${parts.join(" · ")}` : "";
}

function params() {
  const form = new FormData($("search"));
  const p = new URLSearchParams();
  for (const name of ["q", "have", "exclude", "max_time"]) {
    const value = String(form.get(name) || "").trim();
    if (value) p.set(name, value);
  }
  const diets = form.getAll("diet");
  if (diets.length) p.set("diet", diets.join(","));
  return p;
}

async function search(event) {
  if (event) event.preventDefault();
  if (events) { events.close(); events = null; }
  const p = params();
  if (!p.get("q") && !p.get("have")) { $("status").textContent = "Type a dish, or the foods you have."; return; }
  history.replaceState(null, "", `?${p}`);
  $("status").textContent = "Searching…";
  const response = await fetch(`/api/v1/recipes/search?${p}`);
  const body = await response.json();
  if (!response.ok) {
    $("status").textContent = body.message || "That search did not work.";
    return;
  }
  shown = new Set();
  const list = $("results");
  list.replaceChildren();
  for (const recipe of body.results) { shown.add(recipe.id); list.append(item(recipe, false)); }
  const count = `${body.total} recipe${body.total === 1 ? "" : "s"}${readAs(body.query)}`;
  if (body.status === "refreshing" && body.events_url) {
    $("status").textContent = `${count} so far — looking for more…`;
    listen(body.events_url);
  } else {
    $("status").textContent = count;
  }
}

function listen(url) {
  events = new EventSource(url);
  events.addEventListener("search.results", (e) => {
    const data = JSON.parse(e.data).data;
    const list = $("results");
    for (const recipe of data.recipes) {
      if (shown.has(recipe.id)) continue;
      shown.add(recipe.id);
      list.prepend(item(recipe, true));
    }
  });
  events.addEventListener("search.completed", (e) => {
    const data = JSON.parse(e.data).data;
    $("status").textContent = `${shown.size} recipes — search complete (${data.new} new found).`;
    events.close(); events = null;
  });
  events.addEventListener("search.failed", (e) => {
    const data = JSON.parse(e.data).data;
    $("status").textContent = `Showing what we know; the search for more failed: ${data.reason}`;
    events.close(); events = null;
  });
  events.addEventListener("error", () => {
    // The browser reconnects by itself (with Last-Event-ID) unless the stream was refused.
    if (events && events.readyState === EventSource.CLOSED) $("status").textContent += " (live updates stopped)";
  });
}

async function showRecipe(id) {
  const panel = $("recipe");
  const response = await fetch(`/api/v1/recipes/${encodeURIComponent(id)}`);
  if (!response.ok) return;
  const r = await response.json();
  const ingredients = el("ul");
  for (const line of r.ingredients) ingredients.append(el("li", {}, line.raw));
  const steps = el("ol");
  for (const step of r.steps) steps.append(el("li", {}, step));
  panel.replaceChildren(
    el("h2", {}, r.title),
    el("p", { class: "meta" }, describe(r)),
    r.description ? el("p", {}, r.description) : null,
    el("h3", {}, "Ingredients"), ingredients,
    el("h3", {}, "Method"), steps);
  panel.hidden = false;
}

document.addEventListener("DOMContentLoaded", () => {
  $("search").addEventListener("submit", search);
  const initial = new URLSearchParams(location.search);
  for (const name of ["q", "have", "exclude", "max_time"]) {
    if (initial.get(name)) $(name).value = initial.get(name);
  }
  if (initial.get("q") || initial.get("have")) search();
});
