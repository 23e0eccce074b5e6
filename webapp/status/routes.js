// upstream-proxy status page, routes section: the routes in the order they are tried, with
// their conditions, action and counters, from GET /api/routes (the sibling of api.path, named
// by settings.json; docs/routing.md). Kept apart from status.js as fleet.js is; the polling is
// sections.js's.
'use strict';

(() => {
  function cell(text, cls, col) {
    const e = document.createElement('td');
    e.textContent = text;
    if (cls) e.className = cls;
    if (col) e.dataset.col = col;
    return e;
  }

  /** "host *.example.com · path /v1/ · GET HEAD": every condition, or "any request". */
  function conditions(m) {
    const parts = [];
    if (m.host) parts.push('host ' + m.host.join(' '));
    if (m.path) parts.push('path ' + m.path);
    if (m.methods) parts.push(m.methods.join(' '));
    for (const [kind, rules] of [['header', m.headers], ['query', m.query]]) {
      if (!rules) continue;
      for (const [name, v] of Object.entries(rules)) parts.push(`${kind} ${name}${v === true ? '' : ' = ' + v}`);
    }
    if (m.listen) parts.push('listen ' + m.listen.join(' '));
    return parts.length ? parts.join(' · ') : 'any request';
  }

  function action(a) {
    if (a.upstream) return '→ ' + a.upstream;
    if (a.split) return 'split ' + a.split.map(s => `${s.upstream} ${s.weight}`).join(' / ');
    if (a.redirect) return `redirect ${a.redirect.status} ${a.redirect.to || a.redirect.scheme + '://…'}`;
    if (a.return) return 'return ' + a.return.status;
    return '';
  }

  function render(section, body) {
    section.hidden = false;
    section.querySelector('.summary').textContent = `${body.routes.length} in the order they are tried`;
    const tbody = section.querySelector('tbody');
    tbody.textContent = '';
    for (const r of body.routes) {
      const tr = document.createElement('tr');
      tr.dataset.route = String(r.index);
      const errors = r.responses['5xx'];
      tr.append(cell(String(r.index), 'num', 'index'), cell(conditions(r.match), 'server', 'match'),
        cell(action(r.action), '', 'action'), cell(String(r.requests), 'num', 'requests'),
        cell(String(r.responses['2xx']), 'num', '2xx'), cell(String(r.responses['3xx']), 'num', '3xx'),
        cell(String(r.responses['4xx']), 'num', '4xx'), cell(String(errors), 'num' + (errors > 0 ? ' routes-bad' : ''), '5xx'));
      tbody.append(tr);
    }
  }

  window.upstreamProxySection('routes', 'routes', render);
})();
