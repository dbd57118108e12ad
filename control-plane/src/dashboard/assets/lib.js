// Small helpers every page uses: DOM building (text only, never HTML strings, so device-supplied
// names cannot inject markup), API calls, formatting, and SVG charts.

import { routes } from './api-routes.js';

export const session = { name: '', role: 'viewer' };

export const canChange = () => session.role === 'admin' || session.role === 'operator';

const ROLE_ORDER = ['viewer', 'operator', 'admin'];
/** Whether the signed-in role may call route `id` (its `access` in the API contract). */
export function canCall(id) {
  const people = (routes[id]?.access ?? []).filter((a) => a !== 'device');
  if (people.length === 0) return false;
  const needed = Math.min(...people.map((r) => ROLE_ORDER.indexOf(r)));
  return ROLE_ORDER.indexOf(session.role) >= needed;
}

/** h('div', { class: 'x', onclick }, child, 'text', [more]) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/**
 * Replaces an element's children; accepts nested arrays and skips null/false like h().
 *
 * Pages redraw on every fleet change (each heartbeat) around inputs they build once, and taking a
 * focused input out of the document moves focus to the body: a person typing lost the caret every
 * couple of seconds. When the focused element comes back among the new children, focus and the
 * caret go back to it.
 */
export function fill(el, ...children) {
  const focused = document.activeElement;
  const keep = focused && focused !== document.body && el.contains(focused) ? focused : null;
  const caret =
    keep && typeof keep.selectionStart === 'number' ? [keep.selectionStart, keep.selectionEnd] : null;
  el.replaceChildren();
  append(el, children);
  if (keep?.isConnected && document.activeElement !== keep) {
    keep.focus({ preventScroll: true });
    if (caret) keep.setSelectionRange(...caret);
  }
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/**
 * A button that changes something: disabled, with a reason, for viewers, and for roles below
 * what its contract route (`attrs.route`, an operation id) needs.
 */
export function actionButton(label, onclick, { route, ...attrs } = {}) {
  const allowed = route ? canCall(route) : canChange();
  return h(
    'button',
    {
      type: 'button',
      ...attrs,
      disabled: !allowed || attrs.disabled,
      title: allowed ? attrs.title : `a ${session.role} cannot do this`,
      onclick,
    },
    label,
  );
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
  }
}

/**
 * A URL of the API: `apiUrl('getSampleImage', { id })`. Routes come from api-routes.js, which the
 * control plane generates from its API contract, so the pages spell no paths of their own.
 */
export function apiUrl(id, params = {}, query = {}) {
  const route = routes[id];
  if (!route) throw new Error(`unknown API route ${id}`);
  const path = route.path.replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(String(params[name])));
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null) search.set(key, String(value));
  }
  const qs = search.toString();
  return qs ? `${path}?${qs}` : path;
}

/** Calls an API route by its contract id, or a dashboard path (`/ui/...`); JSON in and out. */
export async function api(id, options = {}) {
  const headers = { 'x-edgeloop-dashboard': '1', ...(options.headers ?? {}) };
  let body = options.body;
  if (body !== undefined && !(body instanceof FormData)) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(body);
  }
  const own = id.startsWith('/');
  const res = await fetch(own ? id : apiUrl(id, options.params, options.query), {
    method: own ? (options.method ?? (body === undefined ? 'GET' : 'POST')) : routes[id].method,
    headers,
    body,
    credentials: 'same-origin',
  });
  const json = res.headers.get('content-type')?.includes('json') ? await res.json() : null;
  if (!res.ok) {
    if (res.status === 401) window.dispatchEvent(new Event('edgeloop:signed-out'));
    throw new ApiError(res.status, json);
  }
  return json;
}

export function toast(message, bad = false) {
  const el = h('div', { class: `toast${bad ? ' bad' : ''}`, role: 'status' }, message);
  document.body.append(el);
  setTimeout(() => el.remove(), bad ? 6000 : 3000);
}

/** Runs an action, shows its error as a toast, and says whether it worked. */
export async function attempt(action, done) {
  try {
    const result = await action();
    if (done) toast(done);
    return result;
  } catch (err) {
    toast(err.message, true);
    return undefined;
  }
}

export function ago(iso) {
  if (!iso) return 'never';
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export const pct = (v) => (v === null || v === undefined ? '–' : `${(v * 100).toFixed(1)}%`);
export const num = (v, digits = 1) => (v === null || v === undefined ? '–' : Number(v).toFixed(digits));

export function duration(ms) {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** A confidence sparkline (values 0..1). */
export function sparkline(values) {
  const el = svg('svg', { class: 'spark', viewBox: '0 0 90 22', preserveAspectRatio: 'none' });
  if (values.length < 2) return el;
  const points = values.map((v, i) => `${(i / (values.length - 1)) * 90},${21 - v * 20}`).join(' ');
  el.append(svg('polyline', { points, fill: 'none', stroke: '#2f7de1', 'stroke-width': 1.5 }));
  return el;
}

/** Line chart: series = [{ name, color, values: number[] }], all on one y scale. */
export function lineChart(series, { min, max } = {}) {
  const w = 400;
  const ht = 140;
  const pad = 26;
  const all = series.flatMap((s) => s.values).filter((v) => Number.isFinite(v));
  const lo = min ?? Math.min(...all, 0);
  const hi = max ?? Math.max(...all, lo + 1e-9);
  const n = Math.max(...series.map((s) => s.values.length), 2);
  const el = svg('svg', { class: 'chart', viewBox: `0 0 ${w} ${ht}`, preserveAspectRatio: 'none' });
  const y = (v) => ht - pad / 2 - ((v - lo) / (hi - lo || 1)) * (ht - pad);
  for (const v of [lo, hi]) {
    el.append(svg('line', { x1: pad, x2: w, y1: y(v), y2: y(v), stroke: '#e2e5ea' }));
    const label = svg('text', { x: 0, y: y(v) + 4, 'font-size': 10, fill: '#6b7385' });
    label.textContent = Number(v.toPrecision(3)).toString();
    el.append(label);
  }
  for (const s of series) {
    const pts = s.values.map((v, i) => `${pad + (i / (n - 1)) * (w - pad)},${y(v)}`).join(' ');
    el.append(svg('polyline', { points: pts, fill: 'none', stroke: s.color, 'stroke-width': 2 }));
  }
  return h(
    'div',
    {},
    el,
    h(
      'div',
      { class: 'legend muted' },
      series.map((s) => h('span', {}, h('i', { class: 'swatch', style: `background:${s.color}` }), s.name)),
    ),
  );
}

/** Horizontal bars; rows = [{ label, value (0..1), cls }] */
export function bars(rows) {
  return h(
    'div',
    { class: 'bars' },
    rows.map((r) =>
      h(
        'div',
        { class: `row ${r.cls ?? 'a'}` },
        h('span', { title: r.label }, r.label),
        h(
          'span',
          { class: 'track' },
          h('i', { style: `width:${Math.max(0, Math.min(1, r.value ?? 0)) * 100}%` }),
        ),
        h('span', { class: 'muted' }, pct(r.value)),
      ),
    ),
  );
}

export function badge(text) {
  return h('span', { class: `badge ${String(text ?? '').toLowerCase()}` }, text ?? '–');
}
