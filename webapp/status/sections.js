// upstream-proxy status page: what the sections beside the upstreams share (fleet.js, routes.js).
// Each names its section's element and its URL's key in settings.json; while settings.json names
// none (the fleet API outside fleet mode) nothing is asked and the section stays hidden. Same
// token as status.js, same relative URLs.
'use strict';

window.upstreamProxySection = (sectionId, settingsKey, render) => {
  const REFRESH_MS = 2000;
  const TOKEN_KEY = 'upstream-proxy.token';

  function plain(url) {
    const u = new URL(url, location.href);
    u.username = '';
    u.password = '';
    return u.href;
  }

  async function url() {
    try {
      const r = await fetch(plain('settings.json'), { cache: 'no-store' });
      if (r.ok) return (await r.json())[settingsKey] || null;
    } catch (e) {
      // no settings: no section
    }
    return null;
  }

  async function start() {
    const section = document.getElementById(sectionId);
    if (!section) return;
    const from = await url();
    if (!from) return;
    async function poll() {
      try {
        const h = { Accept: 'application/json' };
        const token = sessionStorage.getItem(TOKEN_KEY);
        if (token) h.Authorization = 'Bearer ' + token;
        const r = await fetch(plain(from), { headers: h, cache: 'no-store' });
        if (r.ok) render(section, await r.json());
      } catch (e) {
        // status.js already reports an unreachable proxy
      }
      setTimeout(poll, REFRESH_MS);
    }
    poll();
  }

  document.addEventListener('DOMContentLoaded', start);
};
