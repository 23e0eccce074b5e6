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
        setLive(true, 'live · ' + new Date().toLocaleTimeString());
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
      s.summary.textContent = `${up} of ${servers.length} up${dns.join('')}`;
    }
    if (sections.size === 0) main.textContent = 'No upstreams configured.';
  }

  const COLUMNS = [
    ['id', 'ID', 'num'], ['server', 'Server', 'server'], ['state', 'State', ''], ['weight', 'Weight', 'num'],
    ['active', 'Active', 'num'], ['requests', 'Requests', 'num'], ['fivexx', '5xx', 'num fivexx'],
    ['health', 'Health check', 'health'], ['actions', '', 'actions'],
  ];

  function newSection(main, name) {
    if (sections.size === 0) main.textContent = '';
    const section = el('section', 'upstream');
    section.dataset.upstream = name;
    const h2 = el('h2');
    h2.append(el('span', 'name', name));
    const summary = el('span', 'summary');
    h2.append(summary);
    const table = el('table');
    const head = el('tr');
    for (const [, title, cls] of COLUMNS) head.append(el('th', cls, title));
    table.append(el('thead'));
    table.tHead.append(head);
    const tbody = el('tbody');
    table.append(tbody);
    section.append(h2, table);
    main.append(section);
    const s = { section, tbody, summary, rows: new Map() };
    sections.set(name, s);
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
    const fivexx = (s.responses && s.responses['5xx']) || 0;
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
    return parts.join('; ');
  }

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
    setupToken();
    await loadSettings();
    refresh();
  });
})();
