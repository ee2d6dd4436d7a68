// The console page (issue #17, docs/CONSOLE.md): four views over the server's read-only JSON API,
// kept live by its Server-Sent Events. Plain DOM, no framework: every text goes in through
// textContent (never innerHTML), so nothing a gateway or device sends can become markup.

const view = document.getElementById('view');
const live = document.getElementById('live');
const MAX_POINTS = 5000;

/** h('tr', {class: 'x', 'data-unit': 2}, child, 'text', ...) */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') el.textContent = String(v);
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

async function api(path) {
  const r = await fetch(path, { headers: { accept: 'application/json' } });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${(await r.text()).slice(0, 200)}`);
  return r.json();
}

const short = (cid) => `${cid.slice(0, 12)}…`;
function age(ms) {
  if (ms === undefined || ms === null) return '—';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}
const time = (ms) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
const valueText = (v) => (typeof v === 'string' ? v : JSON.stringify(v));
const STATE_WORD = { ok: 'ok', timeout: 'timeout', error: 'error', unknown: 'no data yet', quiet: 'quiet', refused: 'refused', closed: 'closed' };

function table(caption, heads, rows) {
  return h('table', {}, h('caption', { text: caption }), h('thead', {}, h('tr', {}, heads.map(([t, num]) => h('th', { scope: 'col', class: num ? 'num' : undefined, text: t })))), h('tbody', {}, rows));
}
const num = (v) => h('td', { class: 'num', text: v ?? '—' });

// ---- routing -------------------------------------------------------------------------------

let current = { name: '', onEvent: () => {} };

function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  for (const id of ['nav-fleet', 'nav-audit']) document.getElementById(id).removeAttribute('aria-current');
  if (parts[0] === 'gateway' && parts[1]) return show(gatewayView(parts[1]));
  if (parts[0] === 'slot' && parts[1] && parts[2]) return show(slotView(parts[1], parts[2]));
  if (parts[0] === 'audit') {
    document.getElementById('nav-audit').setAttribute('aria-current', 'page');
    return show(auditView());
  }
  document.getElementById('nav-fleet').setAttribute('aria-current', 'page');
  return show(fleetView());
}

/**
 * Replaces the view's content; null and false children are skipped. A re-render replaces every
 * element, so focus inside the view would fall back to <body> on each update (a keyboard user
 * thrown out of the page once a second): it goes back to the same link, or else to the heading.
 */
function setView(...children) {
  const had = document.activeElement;
  const inView = had !== null && had !== view && view.contains(had);
  const href = inView ? had.getAttribute('href') : null;
  view.replaceChildren(...children.filter((c) => c !== null && c !== undefined && c !== false));
  if (!inView) return;
  const same = href ? [...view.querySelectorAll('a[href]')].find((a) => a.getAttribute('href') === href) : undefined;
  if (same) same.focus();
  else focusHeading(true);
}

async function show(v) {
  current.dispose?.();
  current = v;
  try {
    await v.render(true);
  } catch (e) {
    setView(h('h1', { text: 'Could not load this view' }), h('p', { text: e.message }));
    focusHeading(true); // and the view that loads later keeps it there (setView)
  }
}

/** Re-renders at most once a second however many events arrive. */
function throttled(render) {
  let timer;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      render(false).catch(() => undefined);
    }, 1000);
  };
}

function focusHeading(first) {
  if (!first) return;
  const h1 = view.querySelector('h1');
  if (h1) {
    h1.setAttribute('tabindex', '-1');
    h1.focus();
  }
}

// ---- views ---------------------------------------------------------------------------------

function verdictCell(v) {
  const cls = v.status === 'pass' ? 'ok' : v.status === 'fail' ? 'bad' : 'idle';
  const word = v.status === 'pass' ? 'passed' : v.status === 'fail' ? 'failed' : 'not appraised';
  return h('td', {}, h('span', { class: `badge ${cls}`, text: word }), v.reasons.length > 0 ? h('div', { class: 'note', text: v.reasons.join('; ') }) : null);
}

function expiryCell(list) {
  return h('td', {}, list.length === 0 ? '—' : list.map((e) => h('div', { class: e.warn ? 'badge warn' : undefined, text: `${e.what}: ${e.at < Date.now() ? 'expired' : 'expires'} ${time(e.at)}` })));
}

function fleetView() {
  const v = {
    name: 'fleet',
    async render(first) {
      const fleet = await api('/api/fleet');
      if (current !== v) return; // left while loading (or a late timer of a view left)
      const rows = fleet.map((g) =>
        h(
          'tr',
          { 'data-gateway': g.cid, class: g.connected ? 'state-ok' : 'state-unknown' },
          h('th', { scope: 'row' }, h('a', { href: `#/gateway/${g.cid}`, class: 'mono', text: short(g.cid) }), g.name ? h('div', { text: g.name }) : null),
          h('td', { text: g.board ?? '—' }),
          h('td', { text: g.connected ? `connected via RN ${g.rn ? short(g.rn) : '?'}` : 'no session now' }),
          verdictCell(g.verdict),
          expiryCell(g.expiries),
          num(g.slots),
          num(g.readings),
          h('td', { text: age(g.newestAt) }),
          num(g.dropped),
        ),
      );
      setView(
        h('h1', { text: 'Fleet' }),
        fleet.length === 0
          ? h('p', { text: 'No gateway yet: gateways appear here once one has opened a session.' })
          : table(`${fleet.length} gateway${fleet.length === 1 ? '' : 's'}`, [['Gateway'], ['Board'], ['RN attachment'], ['Attestation'], ['Expiring artefacts'], ['Slots', 1], ['Readings', 1], ['Newest reading'], ['Dropped by log', 1]], rows),
      );
      focusHeading(first);
    },
  };
  v.onEvent = throttled(v.render);
  return v;
}

function slavesTable(row) {
  const d = row.diag;
  const units = d.units.map((u) =>
    h(
      'tr',
      { class: `state-${u.state}`, 'data-slot': row.slot, 'data-unit': u.unit, 'data-state': u.state },
      h('th', { scope: 'row', text: `unit ${u.unit}${u.name ? ` (${u.name})` : ''}${u.polled ? '' : ' — not polled'}` }),
      h('td', {}, h('strong', { text: STATE_WORD[u.state] ?? u.state }), u.last_error && u.state !== 'ok' ? h('div', { class: 'mono', text: u.last_error }) : null),
      num(u.requests),
      num(u.replies),
      num(u.timeouts),
      num(u.crc_errors),
      h('td', { class: 'num', text: u.by_code.length === 0 ? '0' : u.by_code.map(([c, n]) => `${n}×0x${c.toString(16).padStart(2, '0')}`).join(' ') }),
      h('td', { class: 'num', text: u.rt ? `${u.rt.min.toFixed(1)} / ${u.rt.avg.toFixed(1)} / ${u.rt.p99.toFixed(1)} / ${u.rt.max.toFixed(1)}` : '—' }),
    ),
  );
  return table(`Slot ${row.slot}: port ${d.port}; line: ${d.line.stray_frames} stray frames, ${d.line.stray_noise} runs of noise`, [['Slave'], ['State'], ['Requests', 1], ['Replies', 1], ['Timeouts', 1], ['CRC errors', 1], ['Exceptions', 1], ['Response ms min / avg / p99 / max', 1]], units);
}

function gatewayView(cid) {
  const v = {
    name: 'gateway',
    async render(first) {
      const g = await api(`/api/gateway/${cid}`);
      if (current !== v) return;
      const rows = g.slots.map((s) =>
        h(
          'tr',
          { class: `state-${s.state}`, 'data-slot': s.slot, 'data-state': s.state },
          h('th', { scope: 'row' }, h('a', { href: `#/slot/${cid}/${encodeURIComponent(s.slot)}`, text: s.slot })),
          h('td', { text: [s.device, s.driver ?? s.kind].filter(Boolean).join(', ') || '—' }),
          h('td', {}, h('strong', { text: STATE_WORD[s.state] ?? s.state }), s.note ? h('div', { text: s.note }) : null),
          num(s.readings),
          h('td', { text: age(s.newestAt) }),
          h('td', { class: 'mono', text: s.last === undefined ? '—' : valueText(s.last).slice(0, 120) }),
        ),
      );
      const gw = g.gateway;
      setView(
        h('h1', {}, 'Gateway ', h('span', { class: 'mono', text: short(cid) })),
        h(
          'dl',
          { class: 'facts' },
          h('dt', { text: 'CID' }), h('dd', { class: 'mono', text: cid }),
          h('dt', { text: 'Name / board' }), h('dd', { text: [gw.name, gw.board].filter(Boolean).join(' / ') || '—' }),
          h('dt', { text: 'Session' }), h('dd', { text: gw.connected ? `up, via RN ${gw.rn ?? '?'}` : 'none now' }),
          h('dt', { text: 'Attestation' }), h('dd', { text: `${gw.verdict.status === 'pass' ? 'passed' : gw.verdict.status === 'fail' ? 'FAILED' : 'not appraised'}${gw.verdict.reasons.length ? `: ${gw.verdict.reasons.join('; ')}` : ''}` }),
        ),
        h('h2', { text: 'Slots' }),
        table(`${g.slots.length} slot${g.slots.length === 1 ? '' : 's'}`, [['Slot'], ['Device'], ['State'], ['Readings', 1], ['Newest'], ['Last value']], rows),
        h('h2', { text: 'Per-slave diagnostics' }),
        ...g.slots.filter((s) => s.diag).map(slavesTable),
        g.diagnosticsNote ? h('p', { class: 'note', text: g.diagnosticsNote }) : g.slots.some((s) => s.diag) ? null : h('p', { class: 'note', text: 'No slot here keeps per-slave diagnostics (Modbus slots do).' }),
      );
      focusHeading(first);
    },
  };
  const again = throttled(v.render);
  v.onEvent = (e) => {
    if ((e.t === 'slot' || e.t === 'reading') && e.gateway === cid) again();
    if (e.t === 'fleet') again();
  };
  return v;
}

function slotView(cid, slot) {
  let chart;
  let points = [];
  let names = [];
  const seen = new Set();
  const key = (p) => `${p.epoch ?? ''}/${p.seq}`;
  const lastBody = h('tbody', { id: 'last-values' });
  const chartBox = h('div', { class: 'chart', id: 'chart', role: 'img', 'aria-label': `Plot of the readings of slot ${slot}` });

  function data() {
    return [points.map((p) => p.ts / 1000), ...names.map((n) => points.map((p) => (n in p.values ? p.values[n] : null)))];
  }
  function draw() {
    const wanted = [...new Set(points.flatMap((p) => Object.keys(p.values)))].sort();
    if (typeof uPlot === 'undefined' || wanted.length === 0) {
      chartBox.replaceChildren(h('p', { class: 'note', text: points.length === 0 ? 'No readings in this period yet.' : 'These readings have no numbers to plot; the table below lists them.' }));
      chart?.destroy();
      chart = undefined;
      names = wanted;
      return;
    }
    if (chart === undefined || wanted.join('\n') !== names.join('\n')) {
      names = wanted;
      chart?.destroy();
      chartBox.replaceChildren();
      const colours = ['#0b5cad', '#b3261e', '#1e7b34', '#7b3fa0', '#a15c00', '#00707a', '#5b5b5b', '#c2185b'];
      chart = new uPlot(
        { width: Math.min(1100, view.clientWidth - 20), height: 300, series: [{}, ...names.map((n, i) => ({ label: n, stroke: colours[i % colours.length], width: 1.5, spanGaps: true }))], axes: [{}, {}] },
        data(),
        chartBox,
      );
    } else chart.setData(data());
  }
  function lastRow(p) {
    return h('tr', { 'data-seq': p.seq }, h('td', { text: time(p.ts) }), num(p.epoch === undefined ? p.seq : `${p.epoch}/${p.seq}`), h('td', { class: 'mono', text: valueText(p.value).slice(0, 200) }));
  }
  function add(p) {
    if (seen.has(key(p))) return;
    seen.add(key(p));
    points.push(p);
    if (points.length > MAX_POINTS) seen.delete(key(points.shift()));
    lastBody.prepend(lastRow(p));
    while (lastBody.children.length > 20) lastBody.lastElementChild.remove();
  }
  let redraw;
  const v = {
    name: 'slot',
    // `refetch`: load the points again (after the live stream dropped: what it missed is in them).
    async render(first, refetch = first) {
      if (current !== v) return;
      if (!refetch) return draw();
      const d = await api(`/api/slot/${cid}/${encodeURIComponent(slot)}`);
      if (current !== v) return;
      points = [];
      seen.clear();
      lastBody.replaceChildren();
      for (const p of d.points) add(p);
      setView(
        h('h1', {}, `Slot ${slot} `, h('span', { class: 'note' }, 'of gateway ', h('a', { href: `#/gateway/${cid}`, class: 'mono', text: short(cid) }))),
        h('p', { class: 'note', text: `${d.row.device ?? ''} ${d.row.driver ?? d.row.kind ?? ''} — ${d.history === 'database' ? 'the last hour from the collector\'s database' : 'readings since this console opened'}, live.${d.omittedPoints ? ` The ${d.omittedPoints} oldest readings of the hour are not shown (too many bytes for one page).` : ''}` }),
        chartBox,
        h('h2', { text: 'Last values' }),
        h('table', {}, h('caption', { text: 'Newest first (at most 20)' }), h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Time (gateway)' }), h('th', { scope: 'col', class: 'num', text: 'Seq' }), h('th', { scope: 'col', text: 'Value' }))), lastBody),
      );
      draw();
      focusHeading(first);
    },
  };
  redraw = throttled(async () => draw());
  v.onEvent = (e) => {
    if (e.t === 'reading' && e.gateway === cid && e.slot === slot) {
      add(e.point);
      redraw();
    }
  };
  v.refresh = () => v.render(false, true);
  v.dispose = () => chart?.destroy();
  return v;
}

const AUDIT_ROWS = 200;

function auditView() {
  let body;
  const row = (l) =>
    h('tr', { class: l.refusal ? 'refusal' : undefined, 'data-event': l.event }, h('td', { text: time(l.at) }), h('td', {}, h('a', { href: `#/gateway/${l.gateway}`, class: 'mono', text: short(l.gateway) })), h('td', { text: l.event }), h('td', { class: 'mono', text: l.code ?? '' }), h('td', { text: l.text }));
  const v = {
    name: 'audit',
    async render(first) {
      const lines = await api(`/api/audit?limit=${AUDIT_ROWS}`);
      if (current !== v) return;
      body = h('tbody', { id: 'audit-lines' }, lines.map(row));
      setView(
        h('h1', { text: 'Audit trail' }),
        h('table', {}, h('caption', { text: 'Operator actions, grants and refusals, newest first (refusals marked)' }), h('thead', {}, h('tr', {}, ['Time', 'Gateway', 'Event', 'Code', 'What'].map((t) => h('th', { scope: 'col', text: t })))), body),
      );
      focusHeading(first);
    },
  };
  v.onEvent = (e) => {
    if (e.t !== 'audit' || !body) return;
    body.prepend(row(e.line));
    // As many as a fetch shows: a tab left open here does not grow without end.
    while (body.rows.length > AUDIT_ROWS) body.lastElementChild.remove();
  };
  return v;
}

// ---- live updates --------------------------------------------------------------------------

function connectEvents() {
  const es = new EventSource('/api/events');
  let dropped = false;
  es.onopen = () => {
    live.textContent = 'live';
    live.className = 'up';
    // Back after a drop (the server drops a client that falls behind): what the stream missed is
    // fetched again, so the view does not stay without it.
    if (dropped) (current.refresh ?? current.render)?.call(current, false)?.catch?.(() => undefined);
    dropped = false;
  };
  es.onerror = () => {
    live.textContent = 'reconnecting…';
    live.className = 'down';
    dropped = true;
  };
  es.onmessage = (m) => {
    let e;
    try {
      e = JSON.parse(m.data);
    } catch {
      return;
    }
    current.onEvent?.(e);
  };
}

api('/api/info').then((i) => (document.getElementById('role').textContent = i.role === 'collector' ? '— collector console' : '— operator console'), () => undefined);
window.addEventListener('hashchange', route);
connectEvents();
route();
