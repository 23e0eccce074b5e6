// upstream-proxy status page, fleet section: in fleet mode (docs/fleet.md) lists the instances
// alive in the fleet and the intent revision each has applied, from GET /api/fleet (the sibling
// of api.path, named by settings.json). Without fleet mode it asks nothing and stays hidden. Kept apart
// from status.js so the two evolve independently; the polling is sections.js's.
'use strict';

(() => {
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

  window.upstreamProxySection('fleet', 'fleet', render);
})();
