// Trending Now: the page at "/". Plain ES module, no build step; D3 comes from
// /static/vendor/d3.min.js (node_modules, served by the app) as the global `d3`.
// Every string from the API goes into the DOM through textContent / attributes only.

const d3 = window.d3; // undefined when the server has no node_modules/d3: the list still works

const TRENDING_LIMIT = 100;
const SEARCH_LIMIT = 20;
const SEARCH_LIMIT_FILTERED = 50; // filters narrow search results in the page: ask for more
const RETRY_MS = 10000;
const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
const DURATION = reducedMotion ? 0 : 450;
const UNCLASSIFIED = { id: "", name: "Unclassified", color: "#7f849c" };
const PALETTE = [
  "#4e79a7", "#f28e2c", "#e15759", "#76b7b2", "#59a14f", "#edc949", "#af7aa1", "#ff9da7",
  "#9c755f", "#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69",
  "#fccde5", "#bc80bd", "#ccebc5", "#ffed6f", "#a6cee3", "#b2df8a", "#cab2d6", "#ff7f00",
];

const $ = (selector) => document.querySelector(selector);
const els = {
  app: $("#app"),
  genre: $("#genre-filter"),
  type: $("#type-filter"),
  searchForm: $('[data-testid="search-form"]'),
  searchInput: $("#search-input"),
  clearSearch: $("#clear-search"),
  summary: $("#summary-line"),
  status: $("#status"),
  chart: $("#chart"),
  chartMessage: $("#chart-message"),
  legend: $("#legend"),
  list: $("#title-list"),
  listHeading: $("#list-heading"),
  panel: $("#panel"),
  panelBody: $("#panel-body"),
  panelClose: $("#panel-close"),
  tooltip: $("#tooltip"),
  snapshot: $("#snapshot-line"),
  formulaBox: $("#formula-box"),
  formulaText: $("#formula-text"),
};

const state = {
  genres: [], // [{id, name, title_count}]
  genreById: new Map(),
  colorById: new Map(),
  genre: "",
  type: "",
  q: "",
  items: [], // the titles shown, in list order
  mode: "trending", // or "search"
  searchMode: null, // "semantic" | "keyword" for search results
  asOf: null,
  snapshot: null,
  formula: null,
  trendingCount: 0, // of the items: ranked as trending
  fallbackCount: 0, // of the items: best rated, added because too few are trending
  reason: null, // the API's why, when fewer titles are trending than asked
  selectedId: null,
  loadSeq: 0,
  panelSeq: 0,
  retryTimer: null,
};

// ---------------------------------------------------------------- helpers

class ApiError extends Error {
  constructor(status, title, detail) {
    super(detail || title || `HTTP ${status}`);
    this.status = status;
    this.title = title;
    this.detail = detail;
  }
}

async function api(path, params = {}) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(params)) {
    if (value !== "" && value !== null && value !== undefined) url.searchParams.set(key, value);
  }
  let response;
  try {
    response = await fetch(url, { headers: { Accept: "application/json" } });
  } catch (err) {
    throw new ApiError(0, "Network error", "The API could not be reached.");
  }
  if (!response.ok) {
    let title = response.statusText;
    let detail = "";
    try {
      const body = await response.json();
      title = body.title || title;
      detail = body.detail || "";
    } catch (_) {
      /* not JSON: keep the status text */
    }
    throw new ApiError(response.status, title, detail);
  }
  return response.json();
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "style") {
      for (const [prop, v] of Object.entries(value)) node.style.setProperty(prop, v);
    }
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const typeLabel = (type) => (type === "tv" ? "TV" : type === "movie" ? "Movie" : type || "");
const fmtRating = (r) => (r === null || r === undefined ? null : Number(r).toFixed(1));
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

function metaLine(t) {
  return [t.year, typeLabel(t.type)].filter(Boolean).join(" · ");
}

/** The genre a title is coloured by: its most specific genre (fewest titles), ignoring the
 * genre filtered on when it has others, so a filtered chart is not all one colour. */
function colorGenre(t) {
  let ids = t.genre_ids || [];
  if (state.genre && ids.length > 1) ids = ids.filter((g) => g !== state.genre);
  let best = null;
  for (const id of ids) {
    const g = state.genreById.get(id);
    if (!g) continue;
    if (!best || g.title_count < best.title_count) best = g;
  }
  return best
    ? { id: best.id, name: best.name, color: state.colorById.get(best.id) || UNCLASSIFIED.color }
    : UNCLASSIFIED;
}

function setAppState(value) {
  els.app.dataset.state = value;
}

function showStatus(kind, message, { retry = false } = {}) {
  els.status.replaceChildren();
  els.status.hidden = !message;
  els.status.className = `status status-${kind}`;
  if (!message) return;
  els.status.append(el("span", { text: message }));
  if (retry) {
    els.status.append(
      el("button", { type: "button", class: "chip-button", onclick: () => refresh() }, "Retry now"),
    );
  }
}

function describeError(err, what) {
  if (err.status === 503) {
    return `No snapshot has been published yet, so there is nothing to show. Materialise the pipeline (make materialize); this page retries every ${RETRY_MS / 1000} s.`;
  }
  const detail = err.detail || err.message;
  return `Couldn't load ${what}: ${detail}${err.status ? ` (HTTP ${err.status})` : ""}`;
}

function scheduleRetry() {
  clearTimeout(state.retryTimer);
  state.retryTimer = setTimeout(() => refresh(), RETRY_MS);
}

// ---------------------------------------------------------------- URL state

function readUrl() {
  const params = new URLSearchParams(window.location.search);
  state.genre = params.get("genre") || "";
  state.type = ["movie", "tv"].includes(params.get("type")) ? params.get("type") : "";
  state.q = (params.get("q") || "").trim();
}

function writeUrl() {
  const params = new URLSearchParams();
  if (state.genre) params.set("genre", state.genre);
  if (state.type) params.set("type", state.type);
  if (state.q) params.set("q", state.q);
  const query = params.toString();
  window.history.replaceState(null, "", query ? `?${query}` : window.location.pathname);
}

function queryKey() {
  return `genre=${state.genre}&type=${state.type}&q=${state.q}`;
}

// ---------------------------------------------------------------- loading

async function loadGenres() {
  const body = await api("/genres");
  state.genres = body.items || [];
  state.genreById = new Map(state.genres.map((g) => [g.id, g]));
  // Popular genres get the strongest colours; stable for one snapshot.
  const byPopularity = [...state.genres].sort(
    (a, b) => b.title_count - a.title_count || a.name.localeCompare(b.name),
  );
  state.colorById = new Map(byPopularity.map((g, i) => [g.id, PALETTE[i % PALETTE.length]]));

  const options = [el("option", { value: "" }, "All genres")];
  for (const g of [...state.genres].sort((a, b) => a.name.localeCompare(b.name))) {
    if (g.title_count === 0 && g.id !== state.genre) continue;
    options.push(el("option", { value: g.id }, `${g.name} (${g.title_count})`));
  }
  els.genre.replaceChildren(...options);
  if (state.genre && !state.genreById.has(state.genre)) state.genre = "";
  els.genre.value = state.genre;
}

async function loadTitles() {
  if (state.q) {
    const limit = state.genre || state.type ? SEARCH_LIMIT_FILTERED : SEARCH_LIMIT;
    const body = await api("/search", { q: state.q, limit });
    // Search ranks by relevance; the genre and type filters narrow its results.
    const items = (body.items || []).filter(
      (t) =>
        (!state.genre || (t.genre_ids || []).includes(state.genre)) &&
        (!state.type || t.type === state.type),
    );
    return { mode: "search", items, searchMode: body.mode || null };
  }
  const body = await api("/trending", {
    limit: TRENDING_LIMIT,
    genre: state.genre,
    type: state.type,
  });
  return {
    mode: "trending",
    items: body.items || [],
    asOf: body.as_of ?? null,
    snapshot: body.snapshot ?? null,
    formula: body.formula ?? null,
    // Too few titles with recent reviews: the API tops the answer up with best-rated ones
    // (basis "best_rated_fallback") and says why.
    trendingCount: body.trending_count ?? (body.items || []).length,
    fallbackCount: body.fallback_count ?? 0,
    reason: body.reason ?? null,
  };
}

/** Load genres (once) and the titles for the current filters; render; flag data-state. */
async function refresh() {
  clearTimeout(state.retryTimer);
  const seq = ++state.loadSeq;
  setAppState("loading");
  els.app.dataset.query = queryKey();
  writeUrl();
  els.clearSearch.hidden = !state.q;
  try {
    if (!state.genres.length) await loadGenres();
    const result = await loadTitles();
    if (seq !== state.loadSeq) return; // a newer request superseded this one
    state.items = result.items;
    state.mode = result.mode;
    state.searchMode = result.searchMode || null;
    if (result.mode === "trending") {
      state.asOf = result.asOf;
      state.snapshot = result.snapshot;
      state.formula = result.formula;
    }
    state.trendingCount = result.trendingCount ?? 0;
    state.fallbackCount = result.fallbackCount ?? 0;
    state.reason = result.reason ?? null;
    showStatus("info", "");
    render();
    setAppState("ready");
  } catch (err) {
    if (seq !== state.loadSeq) return;
    console.warn("load failed", err);
    state.items = [];
    state.reason = null;
    state.trendingCount = state.fallbackCount = 0;
    render();
    showStatus(err.status === 503 ? "info" : "error", describeError(err, "titles"), {
      retry: true,
    });
    if (err.status === 503 || err.status === 0) scheduleRetry();
    setAppState("error");
  }
}

// ---------------------------------------------------------------- rendering

function render() {
  renderSummary();
  renderList();
  renderChart();
  renderLegend();
  renderSnapshot();
}

function renderSummary() {
  const n = state.items.length;
  const filters = [];
  if (state.genre) filters.push(state.genreById.get(state.genre)?.name || state.genre);
  if (state.type) filters.push(state.type === "tv" ? "TV shows" : "Movies");
  const scope = filters.length ? ` · ${filters.join(" · ")}` : "";
  if (state.mode === "search") {
    const how = state.searchMode ? ` (${state.searchMode} search)` : "";
    els.summary.textContent = `${plural(n, "result")} for “${state.q}”${how}${scope}`;
    els.listHeading.textContent = "Search results";
  } else {
    const fb = state.fallbackCount;
    els.summary.textContent = !fb
      ? `${plural(state.trendingCount, "trending title")}${scope}`
      : state.trendingCount
        ? `${plural(state.trendingCount, "trending title")} · ${fb} best rated (not enough recent reviews)${scope}`
        : `Not enough recent reviews — ${plural(fb, "best-rated title")}${scope}`;
    els.listHeading.textContent = state.fallbackCount && !state.trendingCount ? "Best rated" : "Trending list";
  }
}

function renderSnapshot() {
  const parts = [];
  if (state.asOf) parts.push(`Trending as of ${state.asOf}`);
  if (state.snapshot) parts.push(`snapshot ${state.snapshot}`);
  els.snapshot.textContent = parts.join(" · ");
  els.formulaBox.hidden = !state.formula;
  els.formulaText.textContent = state.formula || "";
}

function emptyMessage() {
  if (state.mode === "search") return "Nothing matched that search. Try other words, or clear the filters.";
  if (state.reason) return `Nothing to show: ${state.reason}.`;
  if (state.genre || state.type) return "No trending titles match these filters.";
  return "Nothing is trending yet.";
}

function renderList() {
  if (!state.items.length) {
    els.list.replaceChildren(el("li", { class: "empty", "data-testid": "empty-list" }, emptyMessage()));
    return;
  }
  const nodes = state.items.map(listItem);
  // Where the best-rated fallback starts, say so (the API's reason on hover).
  const first = state.mode === "trending" ? state.items.findIndex(isFallback) : -1;
  if (first >= 0) {
    nodes.splice(first, 0, el("li", { class: "empty fallback-note", "data-testid": "fallback-note", role: "note", title: state.reason || "" }, "Not enough recent reviews — best rated instead"));
  }
  els.list.replaceChildren(...nodes);
}

const isFallback = (t) => t.basis === "best_rated_fallback";

function listItem(t, index) {
  const colour = colorGenre(t);
  const rank = t.trending_rank;
  const rankBadge = el(
    "span",
    { class: `rank${rank ? "" : " rank-none"}`, title: rank ? `Trending rank ${rank}` : isFallback(t) ? "Not trending: best rated" : "Not trending" },
    rank ? `#${rank}` : "—",
  );
  const chips = el(
    "span",
    { class: "chips" },
    (t.genres || []).map((name, i) =>
      el("span", { class: "chip", style: { "--chip": state.colorById.get(t.genre_ids?.[i]) || UNCLASSIFIED.color } }, name),
    ),
  );
  const stats = el("span", { class: "stats" });
  if (t.vibe_score !== null && t.vibe_score !== undefined) {
    stats.append(el("span", { class: "vibe", title: "Vibe score from reviews (1–10)" }, `Vibe ${t.vibe_score}/10`));
  } else {
    stats.append(el("span", { class: "vibe vibe-none" }, "No vibe yet"));
  }
  const rating = fmtRating(t.mean_rating);
  stats.append(
    el("span", { class: "reviews" }, `${rating ? `★ ${rating} · ` : ""}${plural(t.review_count ?? 0, "review")}`),
  );
  if (state.mode === "search" && typeof t.score === "number") {
    stats.append(el("span", { class: "match", title: "Search relevance" }, `match ${t.score.toFixed(2)}`));
  }
  const button = el(
    "button",
    {
      type: "button",
      class: "title-button",
      style: { "--accent": colour.color },
      "aria-label": `${t.title}${t.year ? ` (${t.year})` : ""}: open details`,
      onclick: () => openPanel(t.id),
      onmouseenter: () => highlight(t.id, true),
      onmouseleave: () => highlight(t.id, false),
      onfocus: () => highlight(t.id, true),
      onblur: () => highlight(t.id, false),
    },
    rankBadge,
    el(
      "span",
      { class: "title-main" },
      el("span", { class: "title-name" }, t.title),
      el("span", { class: "title-meta" }, metaLine(t)),
      chips,
    ),
    stats,
  );
  return el(
    "li",
    {
      class: `title-item${t.id === state.selectedId ? " selected" : ""}`,
      "data-testid": "title-item",
      "data-title-id": t.id,
      "data-index": index,
    },
    button,
  );
}

/** A title's list item and chart mark. */
function titleNodes(id) {
  const sel = `[data-title-id="${CSS.escape(id)}"]`;
  return document.querySelectorAll(`.title-item${sel}, .title-mark${sel}`);
}

function highlight(id, on) {
  for (const node of titleNodes(id)) {
    node.classList.toggle("hover", on);
  }
}

function renderLegend() {
  const seen = new Map();
  for (const t of state.items) {
    const c = colorGenre(t);
    if (!seen.has(c.name)) seen.set(c.name, { ...c, count: 0 });
    seen.get(c.name).count += 1;
  }
  const entries = [...seen.values()].sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
  els.legend.replaceChildren(
    ...entries.map((c) =>
      el(
        "li",
        {},
        el(
          "button",
          {
            type: "button",
            class: "legend-item",
            title: c.id ? `Show only ${c.name}` : "Titles with no genre",
            disabled: !c.id || c.id === state.genre,
            onclick: () => setFilter({ genre: c.id }),
          },
          el("span", { class: "swatch", style: { background: c.color } }),
          `${c.name} `,
          el("span", { class: "count" }, String(c.count)),
        ),
      ),
    ),
  );
}

// ---------------------------------------------------------------- chart

const hasVibe = (t) => t.vibe_score !== null && t.vibe_score !== undefined;
const hasRank = (t) => t.trending_rank !== null && t.trending_rank !== undefined;

function renderChart() {
  if (!d3) {
    els.chart.replaceChildren();
    els.chartMessage.hidden = false;
    els.chartMessage.replaceChildren(
      el("strong", {}, "The chart is unavailable: D3 isn't installed on this server."),
      el("br"),
      "Run ",
      el("code", {}, "npm ci"),
      " in the repository root (or ",
      el("code", {}, "make setup"),
      ") and reload. The list still works.",
    );
    els.app.dataset.chart = "missing-d3";
    return;
  }
  els.app.dataset.chart = "ok";
  els.chartMessage.hidden = true;

  const items = state.items;
  const width = Math.max(320, els.chart.clientWidth || 640);
  const height = Math.round(Math.min(520, Math.max(340, width * 0.6)));
  const noVibe = items.some((t) => !hasVibe(t));
  const noRank = items.some((t) => !hasRank(t));
  const colW = noRank ? 84 : 0; // titles that aren't trending: a column right of the plot
  const m = { top: 16, right: 18 + colW, left: 56 };
  const plotW = width - m.left - m.right;
  const rMax = Math.max(10, Math.min(26, plotW / 28));
  const bandH = noVibe ? 2 * rMax + 10 : 0; // titles without a vibe score: a band under the plot
  m.bottom = 42 + (noVibe ? bandH + 8 : 0);
  const plotH = height - m.top - m.bottom;
  const bandY = plotH + 46;

  const maxRank = d3.max(items, (t) => t.trending_rank) || 1;
  const x = d3.scaleLinear().domain([0.5, maxRank + 0.5]).range([0, plotW]);
  const y = d3.scaleLinear().domain([0.5, 10.5]).range([plotH, 0]);
  const maxReviews = d3.max(items, (t) => t.review_count || 0) || 1;
  const r = d3.scaleSqrt().domain([0, maxReviews]).range([4, rMax]);

  // Spread titles sharing the "not trending" column so they stay apart.
  const unranked = items.filter((t) => !hasRank(t));
  const spread = new Map(unranked.map((t, i) => [t.id, unranked.length > 1 ? i / (unranked.length - 1) - 0.5 : 0]));
  const cx = (t) => (hasRank(t) ? x(t.trending_rank) : plotW + 4 + colW / 2 + spread.get(t.id) * (colW - 40));
  const cy = (t) => (hasVibe(t) ? y(t.vibe_score) : bandY + bandH / 2);

  let svg = d3.select(els.chart).select("svg");
  if (svg.empty()) {
    svg = d3
      .select(els.chart)
      .append("svg")
      .attr("role", "img")
      .attr("data-testid", "chart-svg");
    const g = svg.append("g").attr("class", "frame");
    g.append("g").attr("class", "grid grid-y");
    g.append("g").attr("class", "axis axis-x");
    g.append("g").attr("class", "axis axis-y");
    g.append("g").attr("class", "bands");
    g.append("text").attr("class", "axis-label axis-label-x");
    g.append("text").attr("class", "axis-label axis-label-y");
    g.append("g").attr("class", "marks");
    g.append("g").attr("class", "labels");
  }
  svg
    .attr("viewBox", `0 0 ${width} ${height}`)
    .attr("width", width)
    .attr("height", height)
    .attr(
      "aria-label",
      `Scatter plot of ${plural(items.length, "title")}: vibe score against trending rank`,
    );
  const g = svg.select("g.frame").attr("transform", `translate(${m.left},${m.top})`);

  g.select(".grid-y")
    .call(d3.axisLeft(y).ticks(10).tickSize(-plotW).tickFormat(""))
    .call((s) => s.select(".domain").remove());
  g.select(".axis-x")
    .attr("transform", `translate(0,${plotH})`)
    .call(
      d3
        .axisBottom(x)
        .tickValues(maxRank <= Math.min(12, plotW / 40) ? d3.range(1, maxRank + 1) : null)
        .ticks(Math.max(2, Math.min(10, Math.floor(plotW / 48))))
        .tickFormat((d) => (Number.isInteger(d) ? `#${d}` : "")),
    );
  g.select(".axis-y").call(d3.axisLeft(y).ticks(10).tickFormat(d3.format("d")));
  g.select(".axis-label-x")
    .attr("x", plotW / 2)
    .attr("y", plotH + 34)
    .attr("text-anchor", "middle")
    .text("Trending rank  (← hotter)");
  g.select(".axis-label-y")
    .attr("transform", `translate(${-42},${plotH / 2}) rotate(-90)`)
    .attr("text-anchor", "middle")
    .text("Vibe score");

  const bands = [];
  if (noVibe) {
    bands.push({ key: "novibe", x: 0, y: bandY, w: plotW + colW, h: bandH, lx: -10, ly: bandY + bandH / 2, anchor: "end", label: "no vibe" });
  }
  if (noRank) {
    bands.push({ key: "norank", x: plotW + 8, y: 0, w: colW - 8, h: plotH, lx: plotW + 4 + colW / 2, ly: plotH + 16, anchor: "middle", label: "not trending" });
  }
  g.select(".bands")
    .selectAll("g.band")
    .data(bands, (d) => d.key)
    .join((enter) => {
      const b = enter.append("g").attr("class", "band");
      b.append("rect").attr("rx", 8);
      b.append("text").attr("dominant-baseline", "middle");
      return b;
    })
    .call((b) =>
      b.select("rect").attr("x", (d) => d.x).attr("y", (d) => d.y).attr("width", (d) => d.w).attr("height", (d) => d.h),
    )
    .call((b) =>
      b
        .select("text")
        .attr("x", (d) => d.lx)
        .attr("y", (d) => d.ly)
        .attr("text-anchor", (d) => d.anchor)
        .text((d) => d.label),
    );

  const t = svg.transition().duration(DURATION);
  g.select(".marks")
    .selectAll("circle.title-mark")
    .data(
      [...items].sort((a, b) => (b.review_count || 0) - (a.review_count || 0)), // small ones on top
      (d) => d.id,
    )
    .join(
      (enter) =>
        enter
          .append("circle")
          .attr("class", "title-mark")
          .attr("data-testid", "title-mark")
          .attr("tabindex", 0)
          .attr("role", "button")
          .attr("cx", cx)
          .attr("cy", cy)
          .attr("r", 0),
      (update) => update,
      (exit) => exit.remove(), // at once: the marks present are exactly the titles shown
    )
    .attr("data-title-id", (d) => d.id)
    .attr("aria-label", (d) => `${d.title}: open details`)
    .classed("no-vibe", (d) => !hasVibe(d))
    .classed("selected", (d) => d.id === state.selectedId)
    .attr("fill", (d) => colorGenre(d).color)
    .on("mouseenter focus", (event, d) => {
      showTooltip(event, d);
      highlight(d.id, true);
    })
    .on("mousemove", (event, d) => showTooltip(event, d))
    .on("mouseleave blur", (event, d) => {
      hideTooltip();
      highlight(d.id, false);
    })
    .on("click", (event, d) => openPanel(d.id))
    .on("keydown", (event, d) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        openPanel(d.id);
      }
    })
    .order()
    .transition(t)
    .attr("cx", cx)
    .attr("cy", cy)
    .attr("r", (d) => r(d.review_count || 0));

  // Dots big enough to hold it show their rank, to match them with the list at a glance.
  g.select(".labels")
    .selectAll("text.mark-label")
    .data(
      items.filter((d) => hasRank(d) && r(d.review_count || 0) >= 10),
      (d) => d.id,
    )
    .join((enter) =>
      enter
        .append("text")
        .attr("class", "mark-label")
        .attr("text-anchor", "middle")
        .attr("dominant-baseline", "central")
        .attr("x", cx)
        .attr("y", cy),
    )
    .text((d) => d.trending_rank)
    .style("font-size", (d) => `${Math.min(13, Math.max(9, r(d.review_count || 0) * 0.6))}px`)
    .transition(t)
    .attr("x", cx)
    .attr("y", cy);

  let empty = g.select("text.empty-chart");
  if (empty.empty()) empty = g.append("text").attr("class", "empty-chart").attr("text-anchor", "middle");
  empty.attr("x", plotW / 2).attr("y", plotH / 2).text(items.length ? "" : "No titles to plot");
}

function showTooltip(event, t) {
  const tip = els.tooltip;
  const rows = [
    el("strong", {}, t.title),
    el("span", { class: "tip-meta" }, metaLine(t)),
    el(
      "span",
      {},
      hasRank(t) ? `Trending #${t.trending_rank}` : "Not trending",
      " · ",
      hasVibe(t) ? `vibe ${t.vibe_score}/10` : "no vibe score yet",
    ),
    el(
      "span",
      {},
      `${plural(t.review_count ?? 0, "review")}${fmtRating(t.mean_rating) ? ` · ★ ${fmtRating(t.mean_rating)}` : ""}`,
    ),
  ];
  if ((t.genres || []).length) rows.push(el("span", { class: "tip-genres" }, t.genres.join(", ")));
  rows.push(el("span", { class: "tip-hint" }, "Click for details"));
  tip.replaceChildren(...rows);
  tip.hidden = false;
  let left = event.clientX;
  let top = event.clientY;
  if (!Number.isFinite(left) || (left === 0 && top === 0)) {
    const box = event.target.getBoundingClientRect();
    left = box.right;
    top = box.top;
  }
  const { width, height } = tip.getBoundingClientRect();
  left = Math.min(left + 14, window.innerWidth - width - 8);
  top = top + 14 + height > window.innerHeight ? top - height - 14 : top + 14;
  tip.style.left = `${Math.max(8, left)}px`;
  tip.style.top = `${Math.max(8, top)}px`;
}

function hideTooltip() {
  els.tooltip.hidden = true;
}

// ---------------------------------------------------------------- detail panel

function markSelected(id) {
  state.selectedId = id;
  for (const node of document.querySelectorAll(".title-item.selected, .title-mark.selected")) {
    node.classList.remove("selected");
  }
  if (id) {
    for (const node of titleNodes(id)) node.classList.add("selected");
  }
}

async function openPanel(id) {
  hideTooltip();
  const seq = ++state.panelSeq;
  markSelected(id);
  const panel = els.panel;
  panel.hidden = false;
  panel.setAttribute("aria-hidden", "false");
  panel.dataset.titleId = id;
  panel.dataset.state = "loading";
  document.body.classList.add("panel-open");
  els.panelBody.replaceChildren(el("p", { class: "muted" }, "Loading…"));
  try {
    const path = `/titles/${encodeURIComponent(id)}`;
    const [detail, similar] = await Promise.all([
      api(path),
      api(`${path}/similar`, { limit: 5 }).catch(() => null), // optional extra
    ]);
    if (seq !== state.panelSeq) return;
    els.panelBody.replaceChildren(...panelContent(detail), ...similarContent(similar));
    panel.dataset.state = "ready";
    els.panelClose.focus({ preventScroll: true });
  } catch (err) {
    if (seq !== state.panelSeq) return;
    els.panelBody.replaceChildren(el("p", { class: "status status-error" }, describeError(err, "this title")));
    panel.dataset.state = "error";
  }
}

function closePanel() {
  state.panelSeq += 1;
  els.panel.hidden = true;
  els.panel.setAttribute("aria-hidden", "true");
  els.panel.dataset.state = "closed";
  document.body.classList.remove("panel-open");
  markSelected(null);
}

function stat(label, value, testid) {
  return el("div", { class: "stat", "data-testid": testid }, el("span", { class: "stat-value" }, value), el("span", { class: "stat-label" }, label));
}

/** A fan-facing line on where the summary, vibe and tags come from (no ids or hashes). */
function enrichmentCredit(en) {
  const by = en.provider === "openai" ? "an AI language model" : "our review model";
  return `Summary, vibe score and tags written by ${by} from fan reviews.`;
}

function panelContent(d) {
  const out = [];
  const colour = colorGenre(d);
  out.push(
    el(
      "header",
      { class: "panel-head", style: { "--accent": colour.color } },
      el("h2", { id: "panel-title", "data-testid": "panel-title" }, d.title),
      el("p", { class: "title-meta" }, metaLine(d)),
      el(
        "div",
        { class: "chips" },
        (d.genres || []).map((name, i) =>
          el("span", { class: "chip", style: { "--chip": state.colorById.get(d.genre_ids?.[i]) || UNCLASSIFIED.color } }, name),
        ),
      ),
    ),
  );

  const rs = d.review_stats || {};
  const tr = d.trending;
  const en = d.enrichment;
  out.push(
    el(
      "div",
      { class: "stat-row" },
      // A title can have trending scores but no rank (too few recent reviews): "—", not "#null".
      stat("trending", tr && tr.rank !== null && tr.rank !== undefined ? `#${tr.rank}` : "—", "panel-rank"),
      stat("vibe", en && en.vibe_score !== null && en.vibe_score !== undefined ? `${en.vibe_score}/10` : "—", "panel-vibe"),
      stat("avg rating", fmtRating(rs.mean_rating) ? `★ ${fmtRating(rs.mean_rating)}` : "—", "panel-rating"),
      stat("reviews", String(rs.review_count ?? 0), "panel-reviews"),
    ),
  );
  if (tr && (tr.recent_reviews !== undefined || tr.as_of)) {
    const bits = [];
    if (tr.recent_reviews !== undefined && tr.recent_reviews !== null) bits.push(`${plural(tr.recent_reviews, "recent review")}`);
    if (typeof tr.momentum === "number") bits.push(`pace ×${tr.momentum.toFixed(1)} vs. usual`);
    if (typeof tr.score === "number") bits.push(`trend score ${tr.score.toFixed(2)}`);
    if (tr.as_of) bits.push(`as of ${tr.as_of}`);
    out.push(el("p", { class: "muted small" }, bits.join(" · ")));
  }

  out.push(el("h3", {}, "What reviewers say"));
  out.push(
    el(
      "p",
      { class: `summary${en?.summary ? "" : " muted"}`, "data-testid": "panel-summary" },
      en?.summary || "No review summary yet for this title.",
    ),
  );
  const tags = en?.vibe_tags || [];
  out.push(
    el(
      "ul",
      { class: "tags", "data-testid": "panel-tags", "aria-label": "Vibe tags" },
      tags.length ? tags.map((tag) => el("li", { class: "tag", "data-testid": "panel-tag" }, tag)) : el("li", { class: "muted" }, "No vibe tags yet."),
    ),
  );
  if (en) {
    // Who wrote it, in words: the model, prompt and version ids stay in the API's JSON.
    out.push(el("p", { class: "muted small", "data-testid": "panel-credit" }, enrichmentCredit(en)));
  }

  if (d.plot) {
    out.push(el("h3", {}, "Plot"));
    out.push(el("p", { class: "plot", "data-testid": "panel-plot" }, d.plot));
  }

  out.push(el("h3", {}, "Genre model"));
  const mg = d.model_genres;
  if (mg && (mg.probabilities || []).length) {
    const probs = [...mg.probabilities].sort((a, b) => b.probability - a.probability).slice(0, 8);
    out.push(
      el(
        "ul",
        { class: "probs", "data-testid": "panel-probabilities" },
        probs.map((p) =>
          el(
            "li",
            { class: `prob${p.predicted ? " predicted" : ""}`, "data-testid": "probability-row", "data-genre-id": p.genre_id },
            el("span", { class: "prob-name" }, p.genre),
            el(
              "span",
              { class: "prob-bar", "aria-hidden": "true" },
              el("span", { style: { width: `${Math.round(p.probability * 100)}%`, background: state.colorById.get(p.genre_id) || UNCLASSIFIED.color } }),
            ),
            el("span", { class: "prob-value" }, `${Math.round(p.probability * 100)}%`),
          ),
        ),
      ),
    );
    const predicted = mg.probabilities.filter((p) => p.predicted).map((p) => p.genre);
    out.push(
      el(
        "p",
        { class: "muted small", "data-testid": "panel-model-credit" },
        predicted.length
          ? `Genres predicted by our model: ${predicted.join(", ")}.`
          : "Our genre model is not confident about any genre for this title.",
      ),
    );
  } else {
    out.push(el("p", { class: "muted", "data-testid": "panel-probabilities" }, "The genre model hasn't scored this title yet."));
  }
  return out;
}

function similarContent(similar) {
  const items = similar?.items || [];
  if (!items.length) return [];
  const how = similar.mode === "embedding" ? "by plot" : "by shared genres";
  return [
    el("h3", {}, "More like this ", el("span", { class: "muted lower" }, `(${how})`)),
    el(
      "ul",
      { class: "similar", "data-testid": "panel-similar" },
      items.map((t) =>
        el(
          "li",
          {},
          el(
            "button",
            {
              type: "button",
              class: "similar-item",
              "data-testid": "similar-item",
              "data-title-id": t.id,
              style: { "--accent": colorGenre(t).color },
              onclick: () => openPanel(t.id),
            },
            el("span", { class: "title-name" }, t.title),
            el(
              "span",
              { class: "title-meta" },
              [metaLine(t), t.trending_rank ? `#${t.trending_rank} trending` : null]
                .filter(Boolean)
                .join(" · "),
            ),
          ),
        ),
      ),
    ),
  ];
}

// ---------------------------------------------------------------- wiring

function setFilter(changes) {
  Object.assign(state, changes);
  els.genre.value = state.genre;
  els.type.value = state.type;
  els.searchInput.value = state.q;
  setAppState("loading"); // synchronously, so a waiter never sees the previous "ready"
  refresh();
}

els.genre.addEventListener("change", () => setFilter({ genre: els.genre.value }));
els.type.addEventListener("change", () => setFilter({ type: els.type.value }));
els.searchForm.addEventListener("submit", (event) => {
  event.preventDefault();
  setFilter({ q: els.searchInput.value.trim() });
});
els.searchInput.addEventListener("search", () => {
  // the native clear (✕) of a search field
  if (!els.searchInput.value && state.q) setFilter({ q: "" });
});
els.clearSearch.addEventListener("click", () => setFilter({ q: "" }));
els.panelClose.addEventListener("click", closePanel);
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !els.panel.hidden) closePanel();
});

let resizeTimer = null;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => renderChart(), 150);
});

readUrl();
els.type.value = state.type;
els.searchInput.value = state.q;
refresh();
