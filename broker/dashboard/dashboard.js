// The fleet dashboard: polls the admin fleet endpoints (same origin, same client
// certificate) and redraws. Every string from data reaches the page through textContent or
// an attribute value set by the DOM API, never through innerHTML, so nothing it shows can
// become markup. The page's Content-Security-Policy forbids inline script and style.
'use strict';

const SVG = 'http://www.w3.org/2000/svg';
const REFRESH_MS = 5000;
const DAY_MS = 86_400_000;

function el(tag, attrs, ...children) {
  const node = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')));
  return node;
}

function fill(id, nodes) {
  const target = document.getElementById(id);
  target.replaceChildren(...nodes);
}

function rtt(a, b) {
  const values = [a.latencies[b.cluster], b.latencies[a.cluster]].filter((v) => typeof v === 'number');
  if (values.length === 0) return null;
  return values.reduce((s, v) => s + v, 0) / values.length;
}

function drawMap(clusters) {
  const cx = 320, cy = 180, r = clusters.length > 1 ? 130 : 0;
  const at = clusters.map((c, i) => {
    const angle = (2 * Math.PI * i) / Math.max(1, clusters.length) - Math.PI / 2;
    return { c, x: cx + r * Math.cos(angle), y: cy + r * Math.sin(angle) };
  });
  const edges = [], nodes = [];
  for (let i = 0; i < at.length; i++) {
    for (let j = i + 1; j < at.length; j++) {
      const a = at[i], b = at[j], ms = rtt(a.c, b.c);
      edges.push(el('svg:line', { class: 'edge', x1: a.x, y1: a.y, x2: b.x, y2: b.y }));
      const label = ms === null ? 'no RTT' : `${ms.toFixed(1)} ms`;
      edges.push(el('svg:text', { class: 'rtt', x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 - 4, 'data-edge': `${a.c.cluster}~${b.c.cluster}` }, label));
    }
  }
  for (const { c, x, y } of at) {
    nodes.push(el('svg:circle', { class: `node ${c.health}`, cx: x, cy: y, r: 22, 'data-cluster': c.cluster },
      el('svg:title', {}, `${c.cluster}: ${c.health}`)));
    nodes.push(el('svg:text', { class: 'label', x, y: y + 40 }, c.cluster));
  }
  fill('map', [...edges, ...nodes]);
}

function rbacText(r) {
  if (!r.targeted && r.currentRevision === 0) return 'no baseline';
  const state = r.compliant ? 'compliant' : 'not compliant';
  return `${state} (rev ${r.appliedRevision ?? '-'}/${r.currentRevision}, drift ${r.driftCount})`;
}

function drawClusters(clusters) {
  const rows = clusters.map((c) => el('tr', { 'data-cluster': c.cluster },
    el('td', {}, c.cluster),
    el('td', { class: c.health }, c.health),
    el('td', {}, [c.region, c.zone].filter(Boolean).join(' / ') || '-'),
    el('td', {}, c.agentVersion ?? '-'),
    el('td', {}, c.exports),
    el('td', {}, c.imports ?? '-'),
    el('td', {}, c.certificateNotAfter ?? '-'),
    el('td', { class: c.rbac.compliant ? 'compliant' : 'noncompliant' }, rbacText(c.rbac)),
  ));
  document.getElementById('clusters').tBodies[0].replaceChildren(...rows);
}

function drawServices(services) {
  const rows = services.map((s) => el('tr', { 'data-service': `${s.namespace}/${s.name}` },
    el('td', {}, `${s.namespace}/${s.name}`),
    el('td', {}, s.type),
    el('td', {}, s.ports.join(', ') || '-'),
    el('td', {}, s.exportedBy.join(', ')),
    el('td', {}, s.importedBy.join(', ') || '-'),
    el('td', { class: s.conflicts.length ? 'conflict' : '' },
      s.conflicts.map((c) => `${c.cluster}: ${c.reasons.join('+')}${c.excluded ? ' (excluded)' : ''}`).join('; ') || 'none'),
  ));
  const table = document.getElementById('services');
  table.tBodies[0].replaceChildren(...rows);
}

function drawCerts(clusters, now) {
  const withCert = clusters.filter((c) => c.certificateNotAfter);
  const horizon = Math.max(DAY_MS, ...withCert.map((c) => Date.parse(c.certificateNotAfter) - now));
  const left = 120, width = 440, row = 28;
  const parts = [el('svg:line', { class: 'axis', x1: left, y1: 8, x2: left, y2: 12 + row * withCert.length })];
  withCert.forEach((c, i) => {
    const remaining = Date.parse(c.certificateNotAfter) - now;
    const w = Math.max(2, (width * Math.max(0, remaining)) / horizon);
    const y = 12 + i * row;
    parts.push(el('svg:text', { class: 'label', x: left / 2, y: y + 16 }, c.cluster));
    parts.push(el('svg:rect', { class: remaining < DAY_MS / 4 ? 'bar soon' : 'bar', x: left, y, width: w, height: row - 8, 'data-cluster': c.cluster }));
    parts.push(el('svg:text', { class: 'when', x: left + w + 6, y: y + 15 }, `${(remaining / 3_600_000).toFixed(1)} h`));
  });
  document.getElementById('certs').setAttribute('viewBox', `0 0 640 ${Math.max(40, 20 + row * withCert.length)}`);
  fill('certs', parts);
}

function drawRbac(clusters) {
  fill('rbac', clusters.map((c) => el('li', { 'data-cluster': c.cluster, class: c.rbac.compliant ? 'compliant' : 'noncompliant' },
    `${c.cluster}: ${rbacText(c.rbac)}`)));
}

async function getJson(path) {
  const res = await fetch(path, { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

async function refresh() {
  try {
    const [fleet, services] = await Promise.all([getJson('/v1/admin/fleet'), getJson('/v1/admin/services')]);
    const now = Date.parse(fleet.generatedAt);
    document.getElementById('clusterset').textContent = fleet.clusterset;
    const healthy = fleet.clusters.filter((c) => c.health === 'Healthy').length;
    document.getElementById('summary').textContent =
      `${healthy}/${fleet.clusters.length} clusters healthy · ${services.services.length} services · catalog revision ${fleet.catalogRevision} · RBAC revision ${fleet.rbacRevision} · ${fleet.generatedAt}`;
    drawMap(fleet.clusters);
    drawClusters(fleet.clusters);
    drawServices(services.services);
    drawCerts(fleet.clusters, now);
    drawRbac(fleet.clusters);
    document.getElementById('error').textContent = '';
    document.body.dataset.revision = String(fleet.catalogRevision);
  } catch (err) {
    document.getElementById('error').textContent = `refresh failed: ${err.message}`;
  }
}

void refresh();
setInterval(refresh, REFRESH_MS);
