// upstream-proxy status page, fleet section: in fleet mode (docs/fleet.md) lists the instances
// alive in the fleet and the intent revision each has applied, from GET /api/fleet (the sibling
// of api.path, named by settings.json). Without fleet mode it asks nothing and stays hidden. Kept apart
// from status.js so the two evolve independently; same token, same relative URLs.
'use strict';

(() => {
  const REFRESH_MS = 2000;
  const TOKEN_KEY = 'upstream-proxy.token';

  function plain(url) {
    const u = new URL(url, location.href);
    u.username = '';
    u.password = '';
    return u.href;
  }

  /** settings.json names the fleet API only in fleet mode; null otherwise (nothing is asked then). */
  async function fleetUrl() {
    try {
      const r = await fetch(plain('settings.json'), { cache: 'no-store' });
      if (r.ok) return (await r.json()).fleet || null;
    } catch (e) {
      // no settings: no fleet section
    }
    return null;
  }

  function cell(tag, text, cls) {
    const e = document.createElement(tag);
    e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function render(section, f) {
    section.hidden = false;
    const summary = section.querySelector('.summary');
    summary.textContent = `${f.instances.length} alive · this is ${f.instance} · etcd ${f.etcd}`;
    summary.classList.toggle('fleet-bad', f.etcd !== 'connected');
    const tbody = section.querySelector('tbody');
    tbody.textContent = '';
    for (const m of f.instances) {
      const tr = document.createElement('tr');
      tr.dataset.instance = m.instance;
      const behind = m.revision < f.revision;
      tr.append(cell('td', m.instance + (m.self ? ' (this one)' : ''), 'server'),
        cell('td', String(m.revision), 'num' + (behind ? ' fleet-behind' : '')),
        cell('td', m.started ? new Date(m.started).toLocaleString() : ''));
      tbody.append(tr);
    }
  }

  async function start() {
    const section = document.getElementById('fleet');
    if (!section) return;
    const url = await fleetUrl();
    if (!url) return;
    async function poll() {
      try {
        const h = { Accept: 'application/json' };
        const token = sessionStorage.getItem(TOKEN_KEY);
        if (token) h.Authorization = 'Bearer ' + token;
        const r = await fetch(plain(url), { headers: h, cache: 'no-store' });
        if (r.ok) render(section, await r.json());
      } catch (e) {
        // status.js already reports an unreachable proxy
      }
      setTimeout(poll, REFRESH_MS);
    }
    poll();
  }

  document.addEventListener('DOMContentLoaded', start);
})();
