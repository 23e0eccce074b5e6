// upstream-proxy status page: reads the management API every REFRESH_MS and lets an operator
// drain/undrain and down/up servers through it. Plain JS, no build step; every URL is relative,
// so the page works under any context path. The API's location comes from settings.json,
// which the proxy answers next to this file.
'use strict';

(() => {
  const REFRESH_MS = 1500;
  const TOKEN_KEY = 'upstream-proxy.token';
  const byId = (id) => document.getElementById(id);

  let api = '../api/upstreams';
  let readOnly = false;
  let timer = null;
  const sections = new Map(); // upstream name -> { section, tbody, summary, rows: Map(id -> tr) }
  const HISTORY = 160;        // points per graph: 4 minutes at REFRESH_MS
  const history = new Map();  // 'upstream/id' or 'upstream' -> { at, requests, fivexx, rps: [], lat: [] }
  const changedAt = new Map(); // 'upstream/id' -> { state, since (ms), seen (true: since page load only) }
  let sortKey = null;         // column key the tables are sorted by, null: API order
  let sortDesc = false;

  // ---- talking to the API -------------------------------------------------------------

  function headers(json) {
    const h = { Accept: 'application/json' };
    if (json) h['Content-Type'] = 'application/json';
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) h.Authorization = 'Bearer ' + token;
    return h;
  }

  /**
   * The absolute URL without user:password: a page opened as http://user:token@host/status/
   * resolves relative URLs with the credentials, which fetch() refuses. The browser still
   * sends the Basic credentials it keeps for the page's realm.
   */
  function plain(url) {
    const u = new URL(url, location.href);
    u.username = '';
    u.password = '';
    return u.href;
  }

  async function call(method, url, body) {
    const init = { method, headers: headers(body !== undefined), cache: 'no-store' };
    if (body !== undefined) init.body = JSON.stringify(body);
    const response = await fetch(plain(url), init);
    let json = null;
    try {
      json = await response.json();
    } catch (e) {
      // not JSON (a proxy in front, an HTML error page): the status code says enough
    }
    if (response.status === 401) askForToken(json);
    return { status: response.status, json };
  }

  function errorText(status, json) {
    const e = json && json.error;
    return e ? `${e.status} ${e.code}: ${e.text}` : `HTTP ${status}`;
  }

  async function loadSettings() {
    try {
      const r = await fetch(plain('settings.json'), { cache: 'no-store' });
      if (r.ok) {
        const s = await r.json();
        api = s.api || api;
        readOnly = !!s.read_only;
      }
    } catch (e) {
      // defaults fit the default configuration
    }
  }

  async function refresh() {
    clearTimeout(timer);
    try {
      const { status, json } = await call('GET', api);
      if (status === 200) {
        showError(null);
        render(json);
        setLive(true, 'live');
      } else if (status === 401) {
        setLive(false, 'token needed');
        return; // polling resumes when a token is given
      } else {
        showError(errorText(status, json));
        setLive(false, 'error');
      }
    } catch (e) {
      showError('Cannot reach the management API at ' + api + ': ' + e.message);
      setLive(false, 'offline');
    }
    timer = setTimeout(refresh, REFRESH_MS);
  }

  /** PATCHes one field; on "last available server" asks before forcing it. */
  async function change(upstream, id, field, value, button) {
    const url = `${api}/${encodeURIComponent(upstream)}/servers/${id}`;
    button.disabled = true;
    try {
      let r = await call('PATCH', url, { [field]: value });
      const e = r.json && r.json.error;
      if (r.status === 409 && e && e.code === 'LastAvailableServer') {
        if (!window.confirm(e.text + '\n\nDo it anyway? Requests to this upstream will fail.')) return;
        r = await call('PATCH', url + '?force=true', { [field]: value });
      }
      if (r.status === 200 && r.json && r.json.server) {
        updateRow(sections.get(upstream).rows.get(id), r.json.server);
        showError(null);
      } else if (r.status !== 401) {
        showError(`${field} ${value} on ${upstream}/${id} failed: ${errorText(r.status, r.json)}`);
      }
    } catch (err) {
      showError(`${field} ${value} on ${upstream}/${id} failed: ${err.message}`);
    } finally {
      button.disabled = readOnly;
    }
  }

  // ---- token ---------------------------------------------------------------------------

  function askForToken(json) {
    const form = byId('token-form');
    const wrong = sessionStorage.getItem(TOKEN_KEY) && json && json.error && /wrong/.test(json.error.text);
    byId('token-note').textContent = wrong ? 'That token was refused; try again.' : 'Kept in this browser tab only.';
    if (form.hidden) {
      form.hidden = false;
      byId('token').focus();
    }
  }

  function setupToken() {
    byId('token-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const value = byId('token').value.trim();
      if (!value) return;
      sessionStorage.setItem(TOKEN_KEY, value);
      byId('token').value = '';
      byId('token-form').hidden = true;
      byId('forget-token').hidden = false;
      refresh();
    });
    byId('forget-token').hidden = !sessionStorage.getItem(TOKEN_KEY);
    byId('forget-token').addEventListener('click', () => {
      sessionStorage.removeItem(TOKEN_KEY);
      byId('forget-token').hidden = true;
      refresh();
    });
  }

  // ---- rendering: rows are kept and updated in place, so a click never meets a replaced button

  function render(data) {
    const main = byId('upstreams');
    for (const [name, s] of sections) {
      if (!(name in data)) {
        s.section.remove();
        sections.delete(name);
      }
    }
    for (const name of Object.keys(data)) {
      const s = sections.get(name) || newSection(main, name);
      const servers = (data[name] && data[name].servers) || [];
      const seen = new Set();
      servers.forEach((server, index) => {
        seen.add(server.id);
        let tr = s.rows.get(server.id);
        if (!tr) {
          tr = newRow(name, server.id);
          s.rows.set(server.id, tr);
        }
        updateRow(tr, server);
        if (s.tbody.children[index] !== tr) s.tbody.insertBefore(tr, s.tbody.children[index] || null);
      });
      for (const [id, tr] of s.rows) {
        if (!seen.has(id)) {
          tr.remove();
          s.rows.delete(id);
        }
      }
      const up = servers.filter((x) => x.state === 'up').length;
      // Host names re-resolved at run time ("resolve"): a failing lookup shows beside the count.
      const dns = ((data[name] && data[name].resolve) || [])
        .filter((n) => n.last_error)
        .map((n) => ` · DNS ${n.name}: ${n.last_error} (keeping ${n.addresses.length ? n.addresses.join(', ') : 'no address'})`);
      s.summary.textContent = `${up} of ${servers.length} up${dns.join('')}${overloadText(data[name] && data[name].overload)}`;
      updateTotals(s, name, servers);
      sortRows(s);
    }
    if (sections.size === 0) main.textContent = 'No upstreams configured.';
  }

  // key, title, class, sort value of a server (null: not sortable). Widths are fixed in the CSS
  // (col-KEY), so the columns line up across the upstreams' tables.
  const COLUMNS = [
    ['id', 'ID', 'num', (s) => s.id], ['server', 'Server', 'server', (s) => s.server],
    ['state', 'State', 'statecol', (s) => s.state], ['weight', 'Weight', 'num', (s) => s.weight],
    ['active', 'Active', 'num', (s) => s.active], ['requests', 'Requests', 'num', (s) => s.requests],
    ['rps', 'Req/s', 'num', (s) => s.rps || 0], ['fivexx', '5xx', 'num fivexx', (s) => fivexxOf(s)],
    ['latency', 'Latency ms', 'num', (s) => s.response_time || 0], ['bytes', 'Bytes', 'num', (s) => bytesOf(s)],
    ['graph', 'Req/s · latency', 'graph', null], ['health', 'Health check', 'health', null], ['actions', '', 'actions', null],
  ];

  const fivexxOf = (s) => (s.responses && s.responses['5xx']) || 0;
  const bytesOf = (s) => (s.sent || 0) + (s.received || 0);

  // The upstream's queue, limits and retries (its "overload" object): the queue once it has one,
  // the counters once they count something.
  function overloadText(o) {
    if (!o) return '';
    const parts = [];
    if (o.queue) {
      const q = o.queue;
      const avg = q.waited ? Math.round(q.wait_ms / q.waited) : 0;
      parts.push(`queue ${q.depth}/${q.size}, wait avg ${avg} ms, refused ${q.full} full, ${q.timeouts} timed out`);
    }
    if (o.overloaded) parts.push(`${o.overloaded} overloaded`);
    if (o.retries) parts.push(`${o.retries} retries`);
    if (o.retry_budget_exhausted) parts.push(`retry budget exhausted ${o.retry_budget_exhausted}×`);
    return parts.map((p) => ` · ${p}`).join('');
  }

  function newSection(main, name) {
    if (sections.size === 0) main.textContent = '';
    const section = el('section', 'upstream');
    section.dataset.upstream = name;
    const h2 = el('h2');
    h2.append(el('span', 'name', name));
    const balancer = el('span', 'balancer');
    const summary = el('span', 'summary');
    h2.append(balancer, summary);
    const table = el('table');
    const colgroup = el('colgroup');
    for (const [key] of COLUMNS) colgroup.append(el('col', 'col-' + key));
    table.append(colgroup);
    const head = el('tr');
    for (const [key, title, cls, value] of COLUMNS) {
      const th = el('th', cls, title);
      th.dataset.col = key;
      if (value) {
        th.classList.add('sortable');
        th.title = 'sort by ' + (title || key);
        th.addEventListener('click', () => sortBy(key));
      }
      head.append(th);
    }
    table.append(el('thead'));
    table.tHead.append(head);
    const tbody = el('tbody');
    table.append(tbody);
    const totals = el('tr', 'totals');
    totals.dataset.totals = name;
    for (const [key, , cls] of COLUMNS) {
      const td = el('td', cls);
      td.dataset.col = key;
      totals.append(td);
    }
    const tfoot = el('tfoot');
    tfoot.append(totals);
    table.append(tfoot);
    section.append(h2, table);
    main.append(section);
    const s = { section, tbody, summary, balancer, totals, rows: new Map() };
    sections.set(name, s);
    // The list keeps the seed's exact shape; the upstream's own object names its balancer.
    call('GET', `${api}/${encodeURIComponent(name)}`).then((r) => {
      if (r.status === 200 && r.json && r.json.balancer) balancer.textContent = r.json.balancer;
    }).catch(() => {});
    return s;
  }

  function newRow(upstream, id) {
    const tr = el('tr');
    tr.dataset.server = `${upstream}/${id}`;
    for (const [key, , cls] of COLUMNS) {
      const td = el('td', cls);
      td.dataset.col = key;
      tr.append(td);
    }
    const actions = tr.querySelector('[data-col="actions"]');
    for (const field of ['drain', 'down']) {
      const b = el('button');
      b.type = 'button';
      b.dataset.action = field;
      b.addEventListener('click', () => {
        const server = tr.server;
        change(upstream, id, field, !server[field], b);
      });
      actions.append(b);
    }
    return tr;
  }

  function updateRow(tr, s) {
    tr.server = s;
    const cell = (key) => tr.querySelector(`[data-col="${key}"]`);
    cell('id').textContent = s.id;
    const server = cell('server');
    server.textContent = s.server;
    if (s.backup) server.append(el('span', 'tag', 'backup'));
    const state = el('span', `state state-${s.state}`, s.state);
    state.title = stateTitle(s);
    cell('state').replaceChildren(state);
    cell('weight').textContent = s.weight;
    cell('active').textContent = s.active;
    cell('requests').textContent = s.requests;
    const key = tr.dataset.server;
    const h = sample(key, s.requests, fivexxOf(s), s.response_time);
    s.rps = h.rps[h.rps.length - 1] || 0;
    cell('rps').textContent = rate(s.rps);
    cell('latency').textContent = s.response_time === undefined ? '—' : ms(s.response_time);
    cell('latency').title = s.header_time === undefined ? '' : `to headers ${ms(s.header_time)} ms (moving average)`;
    cell('bytes').textContent = size(bytesOf(s));
    cell('bytes').title = `sent ${s.sent || 0} B, received ${s.received || 0} B`;
    cell('graph').replaceChildren(graph(h));
    state.append(el('span', 'since', since(key, s)));
    if (s.ejected_reason) {
      cell('state').append(el('div', 'detail', `${s.ejected_reason}, back ${timeOfDay(s.ejected_until)}`));
    }
    const fivexx = fivexxOf(s);
    cell('fivexx').textContent = fivexx;
    cell('fivexx').classList.toggle('nonzero', fivexx > 0);
    cell('health').replaceChildren(...health(s.health_checks || {}));
    tr.classList.toggle('out', s.state !== 'up');
    const [drain, down] = tr.querySelectorAll('button');
    drain.textContent = s.drain ? 'Undrain' : 'Drain';
    drain.classList.toggle('on', !!s.drain);
    down.textContent = s.down ? 'Up' : 'Down';
    down.classList.toggle('on', !!s.down);
    for (const b of [drain, down]) {
      b.disabled = readOnly;
      b.title = readOnly ? 'the API is read-only (api.read_only)' : '';
    }
    drain.setAttribute('aria-label', `${s.drain ? 'undrain' : 'drain'} server ${s.server}`);
    down.setAttribute('aria-label', `${s.down ? 'bring up' : 'take down'} server ${s.server}`);
  }

  function stateTitle(s) {
    const parts = [];
    if (s.down) parts.push('down by the operator');
    if (s.drain) parts.push('drained by the operator');
    if (s.fails) parts.push(`${s.fails} failed requests, unavailable ${s.unavail} times`);
    if (s.ejected_reason) parts.push(`ejected by outlier detection (${s.ejected_reason}) until ${s.ejected_until}`);
    if (s.ejections) parts.push(`ejected ${s.ejections} times`);
    return parts.join('; ');
  }

  /** An ISO instant as the local time of day, "14:03:27". */
  const timeOfDay = (iso) => new Date(Date.parse(iso)).toLocaleTimeString([], { hour12: false });

  /** The health-check cell: last result and reason, counts, the agent's words. */
  function health(hc) {
    const passed = hc.last_passed ? Date.parse(hc.last_passed) : 0;
    const failed = hc.last_failed ? Date.parse(hc.last_failed) : 0;
    if (!hc.checks && !failed) return [el('span', 'detail', '—')];
    const lastFailed = failed > passed;
    const out = [];
    const result = lastFailed ? el('span', 'result fail', '✗ ' + (hc.last_fail_reason || 'failed'))
      : el('span', 'result pass', '✓ passed');
    result.title = lastFailed ? `last failed ${hc.last_failed}` : `last passed ${hc.last_passed}`;
    out.push(result);
    let detail = `${hc.checks} checks, ${hc.fails} failed`;
    if (hc.unhealthy) detail += `, unhealthy ${hc.unhealthy}×`;
    if (!lastFailed && hc.last_fail_reason) detail += ` · last failure: ${hc.last_fail_reason} ${ago(failed)}`;
    out.push(el('div', 'detail', detail));
    if (hc.agent !== undefined) out.push(el('div', 'detail', 'agent: ' + (hc.agent || '(empty)')));
    return out;
  }

  // ---- rates, history, graphs ------------------------------------------------------------

  /** Records a server's (or an upstream's) counters now and returns its history of rates and latency. */
  function sample(key, requests, fivexx, latency) {
    const now = Date.now();
    let h = history.get(key);
    if (!h) {
      h = { at: now, requests, fivexx, rps: [], errs: [], lat: [] };
      history.set(key, h);
      return h;
    }
    const dt = (now - h.at) / 1000;
    if (dt < 0.2) return h; // a PATCH answer right after a refresh: no new point
    push(h.rps, Math.max(0, (requests - h.requests) / dt));
    push(h.errs, Math.max(0, (fivexx - h.fivexx) / dt));
    push(h.lat, latency || 0);
    h.at = now;
    h.requests = requests;
    h.fivexx = fivexx;
    return h;
  }

  function push(list, value) {
    list.push(value);
    if (list.length > HISTORY) list.shift();
  }

  const SVG = 'http://www.w3.org/2000/svg';

  /** A small SVG: requests/s as a filled area, latency as a line, each scaled to its own maximum. */
  function graph(h) {
    const w = 140;
    const height = 28;
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', `0 0 ${w} ${height}`);
    svg.setAttribute('width', w);
    svg.setAttribute('height', height);
    svg.setAttribute('class', 'spark');
    svg.dataset.points = h.rps.length;
    const bg = document.createElementNS(SVG, 'rect');
    bg.setAttribute('width', w);
    bg.setAttribute('height', height);
    bg.setAttribute('class', 'bg');
    svg.append(bg);
    const line = (values, cls, area) => {
      if (values.length < 2) return;
      const max = Math.max(...values) || 1;
      // A young history is drawn over at least a fifth of the width rather than as a sliver at the right.
      const step = w / (Math.min(HISTORY, Math.max(values.length, HISTORY / 5)) - 1);
      const x0 = w - (values.length - 1) * step;
      const pts = values.map((v, i) => `${(x0 + i * step).toFixed(1)},${(height - 1 - (v / max) * (height - 3)).toFixed(1)}`);
      const p = document.createElementNS(SVG, area ? 'polygon' : 'polyline');
      p.setAttribute('points', (area ? `${x0.toFixed(1)},${height} ` : '') + pts.join(' ') + (area ? ` ${w},${height}` : ''));
      p.setAttribute('class', cls);
      svg.append(p);
    };
    line(h.rps, 'rps', true);
    line(h.lat, 'lat', false);
    const last = h.rps[h.rps.length - 1] || 0;
    const title = document.createElementNS(SVG, 'title');
    title.textContent = `last ${Math.round(h.rps.length * REFRESH_MS / 1000)} s: now ${rate(last)} req/s, `
      + `${ms(h.lat[h.lat.length - 1] || 0)} ms; peak ${rate(Math.max(0, ...h.rps))} req/s`;
    svg.append(title);
    return svg;
  }

  /** The totals row: sums over the upstream's servers, its own rate history and graph. */
  function updateTotals(s, name, servers) {
    const cell = (key) => s.totals.querySelector(`[data-col="${key}"]`);
    const sum = (f) => servers.reduce((t, x) => t + (f(x) || 0), 0);
    const requests = sum((x) => x.requests);
    const fivexx = sum(fivexxOf);
    const timed = servers.filter((x) => x.response_time !== undefined);
    // latency weighted by each server's share of the recent requests (plain mean when idle)
    const weight = timed.reduce((t, x) => t + (x.rps || 0), 0);
    const latency = timed.length === 0 ? undefined : weight > 0
      ? timed.reduce((t, x) => t + x.response_time * (x.rps || 0), 0) / weight
      : timed.reduce((t, x) => t + x.response_time, 0) / timed.length;
    const h = sample(name, requests, fivexx, latency);
    const rps = h.rps[h.rps.length - 1] || 0;
    const errs = h.errs[h.errs.length - 1] || 0;
    cell('server').textContent = 'total';
    cell('state').textContent = `${servers.filter((x) => x.state === 'up').length}/${servers.length} up`;
    cell('weight').textContent = sum((x) => x.weight);
    cell('active').textContent = sum((x) => x.active);
    cell('requests').textContent = requests;
    cell('rps').textContent = rate(rps);
    cell('fivexx').textContent = fivexx;
    cell('fivexx').title = `${rate(errs)} 5xx/s`;
    cell('fivexx').classList.toggle('nonzero', errs > 0);
    cell('health').textContent = `${rate(errs)} 5xx/s`;
    cell('latency').textContent = latency === undefined ? '—' : ms(latency);
    cell('bytes').textContent = size(sum(bytesOf));
    cell('graph').replaceChildren(graph(h));
  }

  function sortBy(key) {
    if (sortKey === key) {
      sortDesc = !sortDesc;
    } else {
      sortKey = key;
      sortDesc = key !== 'id' && key !== 'server' && key !== 'state';
    }
    document.querySelectorAll('th.sortable').forEach((th) => {
      th.classList.toggle('sorted', th.dataset.col === sortKey);
      th.classList.toggle('desc', th.dataset.col === sortKey && sortDesc);
    });
    for (const s of sections.values()) sortRows(s);
  }

  function sortRows(s) {
    if (!sortKey) return;
    const value = COLUMNS.find((c) => c[0] === sortKey)[3];
    const rows = [...s.rows.values()];
    rows.sort((x, y) => {
      const a = value(x.server);
      const b = value(y.server);
      const c = typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b));
      return (sortDesc ? -c : c) || x.server.id - y.server.id;
    });
    rows.forEach((tr, i) => {
      if (s.tbody.children[i] !== tr) s.tbody.insertBefore(tr, s.tbody.children[i] || null);
    });
  }

  /** How long the server has been in its state: from downstart when the API knows, else as this page saw it. */
  function since(key, s) {
    const now = Date.now();
    let c = changedAt.get(key);
    if (!c || c.state !== s.state) {
      c = { state: s.state, since: now, seen: !c };
      changedAt.set(key, c);
    }
    const from = s.downstart ? Date.parse(s.downstart) : c.since;
    const prefix = s.downstart || !c.seen ? '' : '≥ ';
    return prefix + duration(now - from);
  }

  function duration(millis) {
    const s = Math.max(0, Math.round(millis / 1000));
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
    if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor(s % 3600 / 60)}m`;
    return `${Math.floor(s / 86400)}d ${Math.floor(s % 86400 / 3600)}h`;
  }

  const rate = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  const ms = (v) => (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(3));

  function size(bytes) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let v = bytes;
    let u = 0;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return (u === 0 ? String(v) : v.toFixed(1)) + ' ' + units[u];
  }

  /** Date, time and zone, e.g. 2025-01-31 13:00:05 Europe/Paris (UTC+01:00). */
  function clock() {
    const d = new Date();
    const pad = (n) => String(n).padStart(2, '0');
    const off = -d.getTimezoneOffset();
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || '';
    const utc = `UTC${off >= 0 ? '+' : '-'}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
    byId('clock').textContent = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} `
      + `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${zone} (${utc})`;
  }

  function ago(millis) {
    const s = Math.max(0, Math.round((Date.now() - millis) / 1000));
    if (s < 60) return `${s}s ago`;
    if (s < 3600) return `${Math.round(s / 60)}m ago`;
    return `${Math.round(s / 3600)}h ago`;
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function showError(text) {
    const box = byId('error');
    box.hidden = !text;
    box.textContent = text || '';
  }

  function setLive(ok, text) {
    const live = byId('live');
    live.classList.toggle('ok', ok);
    live.classList.toggle('bad', !ok);
    byId('live-text').textContent = text;
  }

  document.addEventListener('DOMContentLoaded', async () => {
    clock();
    setInterval(clock, 1000);
    setupToken();
    await loadSettings();
    refresh();
  });
})();
