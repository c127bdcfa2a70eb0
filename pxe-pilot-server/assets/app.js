// pxe-pilot's operator page. Plain JavaScript, no framework, no build step: it talks to the
// same JSON API as the CLI (/v1/...). Rows are built once per host and filtered by hiding
// them; one listener per event type on the table (event delegation), none per row.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = 'pxe-pilot.token';
  const PARALLEL = 4; // power commands in flight at once (each may wait on a BMC)
  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

  const ui = {
    body: document.body,
    tbody: $('hosts'),
    rowTemplate: $('row'),
    filter: $('filter'),
    count: $('count'),
    empty: $('empty'),
    selection: $('selection'),
    selectAll: $('select-all'),
    configuration: $('configuration'),
    reboot: $('reboot'),
    deploy: $('deploy'),
    powerButtons: Array.from(document.querySelectorAll('#actions [data-action]')),
    powerNote: $('power-note'),
    forget: $('forget-token'),
  };

  const state = {
    entries: new Map(), // host name -> entry (its host, its row and cells, its search key)
    order: [], // entries in display order
    configurations: new Map(), // name -> configuration view
    sort: { key: 'name', dir: 1 },
    query: [],
    busy: false,
    statusRun: 0,
  };

  // ---- API -------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message, cancelled = false) {
      super(message);
      this.status = status;
      this.cancelled = cancelled;
    }
  }

  const token = {
    get: () => sessionStorage.getItem(TOKEN_KEY) || '',
    set(value) {
      sessionStorage.setItem(TOKEN_KEY, value);
      ui.forget.hidden = false;
    },
    forget() {
      sessionStorage.removeItem(TOKEN_KEY);
      ui.forget.hidden = true;
    },
  };

  async function messageOf(response) {
    const text = await response.text().catch(() => '');
    try {
      const body = JSON.parse(text);
      if (body && typeof body.message === 'string') return body.message;
    } catch (_) {
      // not JSON: fall through
    }
    return `HTTP ${response.status} ${response.statusText}`.trim();
  }

  // One request; a change answered 401 asks for the token and is sent again with it.
  async function api(method, path, body) {
    for (;;) {
      const sent = token.get();
      const headers = { Accept: 'application/json' };
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      if (sent && method !== 'GET') headers.Authorization = `Bearer ${sent}`;
      let response;
      try {
        response = await fetch(path, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          cache: 'no-store',
        });
      } catch (e) {
        throw new ApiError(0, `cannot reach the pxe-pilot server (${e.message})`);
      }
      if (response.status === 401 && method !== 'GET') {
        const message = await messageOf(response);
        if ((await askToken(message, sent)) === null) throw new ApiError(401, message, true);
        continue;
      }
      if (!response.ok) throw new ApiError(response.status, await messageOf(response));
      const text = response.status === 204 ? '' : await response.text();
      return { status: response.status, data: text ? JSON.parse(text) : null };
    }
  }

  const hostPath = (name) => `/v1/hosts/${encodeURIComponent(name)}`;

  // ---- Dialogs ---------------------------------------------------------------------------

  // Shows a modal dialog; resolves with what `submit` returns, or null when it is cancelled
  // (Cancel, Escape). `submit` returning undefined keeps the dialog open.
  function runDialog(dialog, submit) {
    const form = dialog.querySelector('form');
    const cancel = dialog.querySelector('[id$="-cancel"]');
    return new Promise((resolve) => {
      let result = null;
      const onSubmit = (event) => {
        event.preventDefault();
        const value = submit();
        if (value === undefined) return;
        result = value;
        dialog.close();
      };
      const onCancel = () => dialog.close();
      const onClose = () => {
        form.removeEventListener('submit', onSubmit);
        if (cancel) cancel.removeEventListener('click', onCancel);
        dialog.removeEventListener('close', onClose);
        resolve(result);
      };
      form.addEventListener('submit', onSubmit);
      if (cancel) cancel.addEventListener('click', onCancel);
      dialog.addEventListener('close', onClose);
      dialog.showModal();
    });
  }

  // Asks "are you sure?" for a destructive action, naming the hosts.
  function confirmAction(title, text, okLabel, hosts) {
    $('confirm-title').textContent = title;
    $('confirm-text').textContent = text;
    $('confirm-ok').textContent = okLabel;
    const list = $('confirm-hosts');
    const shown = hosts.slice(0, 50).map((name) => {
      const item = document.createElement('li');
      item.textContent = name;
      return item;
    });
    if (hosts.length > shown.length) {
      const more = document.createElement('li');
      more.textContent = `… and ${hosts.length - shown.length} more`;
      shown.push(more);
    }
    list.replaceChildren(...shown);
    const done = runDialog($('confirm'), () => true);
    $('confirm-cancel').focus(); // the safe choice has the focus
    return done.then((ok) => ok === true);
  }

  // One token prompt at a time: requests refused together wait for the same answer.
  let tokenPrompt = null;
  function askToken(message, sent) {
    const current = token.get();
    if (current && current !== sent) return Promise.resolve(current); // set meanwhile: retry
    if (!tokenPrompt) {
      const input = $('token-input');
      $('token-message').textContent = message;
      input.value = '';
      tokenPrompt = runDialog($('token'), () => {
        const value = input.value.trim();
        if (!value) return undefined;
        token.set(value);
        return value;
      }).finally(() => {
        tokenPrompt = null;
      });
      input.focus();
    }
    return tokenPrompt;
  }

  // ---- Notices ---------------------------------------------------------------------------

  function notify(kind, text, items = []) {
    const notice = $('notice');
    notice.classList.toggle('error', kind === 'error');
    notice.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    $('notice-text').textContent = text;
    $('notice-list').replaceChildren(
      ...items.map((line) => {
        const item = document.createElement('li');
        item.textContent = line;
        return item;
      }),
    );
    notice.hidden = false;
  }

  // ---- Rows ------------------------------------------------------------------------------

  const hasPower = (host) => Boolean(host.ipmi || host.management || host.redfish || host.powerState);

  function buildEntry(host) {
    const row = ui.rowTemplate.content.firstElementChild.cloneNode(true);
    const cells = row.children;
    const box = cells[0].querySelector('input');
    box.value = host.name;
    cells[0].querySelector('span').textContent = `Select ${host.name}`;
    cells[1].textContent = host.name;
    row.dataset.name = host.name;
    const entry = {
      name: host.name,
      host: null,
      row,
      box,
      conf: cells[2],
      power: cells[3],
      boot: cells[4],
      macs: cells[5],
      bmc: cells[6],
      key: '',
      visible: true,
      selected: false,
      powerState: null,
    };
    updateEntry(entry, host);
    return entry;
  }

  function macSpellings(mac) {
    const lower = String(mac).toLowerCase();
    return `${lower} ${lower.replace(/:/g, '-')} ${lower.replace(/[:-]/g, '')}`;
  }

  // Fills the cells that changed; `host` is the API's view (powerState absent: keep ours).
  function updateEntry(entry, host) {
    const old = entry.host;
    entry.host = host;
    const macs = host.macAddresses || [];
    if (!old || old.macAddresses.join() !== macs.join()) {
      entry.macs.replaceChildren(
        ...macs.map((mac) => {
          const span = document.createElement('span');
          span.textContent = mac;
          return span;
        }),
      );
    }
    setConfiguration(entry, host.configuration);
    const bmc = host.ipmi
      ? host.ipmi.hostname || host.ipmi.macAddress
      : host.management
        ? host.management.ipAddress || host.management.macAddress
        : '';
    if (entry.bmc.textContent !== (bmc || '')) entry.bmc.textContent = bmc || '';
    if (host.powerState) setPower(entry, host.powerState);
    else if (!old) setPower(entry, hasPower(host) ? 'pending' : 'none');
    setBoot(entry, host.lastBoot);
  }

  // What the filter looks in: name, every MAC in three spellings, configuration, BMC.
  function searchKey(host) {
    const bmc = host.ipmi
      ? `${host.ipmi.hostname || ''} ${host.ipmi.macAddress || ''}`
      : host.management
        ? `${host.management.ipAddress || ''} ${host.management.macAddress || ''}`
        : '';
    const macs = (host.macAddresses || []).map(macSpellings).join(' ');
    const conf = host.configuration ? host.configuration.name : '';
    return `${host.name} ${macs} ${conf} ${bmc}`.toLowerCase();
  }

  function setConfiguration(entry, configuration) {
    const name = configuration ? configuration.name : '';
    const dangling = Boolean(configuration && configuration.dangling);
    const shown = `${name}|${dangling}`;
    entry.host.configuration = configuration;
    entry.key = searchKey(entry.host);
    if (entry.conf.dataset.shown === shown) return;
    entry.conf.dataset.shown = shown;
    if (!configuration) {
      const none = document.createElement('span');
      none.className = 'none';
      none.textContent = 'none';
      entry.conf.replaceChildren(none);
      return;
    }
    const parts = [document.createTextNode(name)];
    if (dangling) {
      const badge = document.createElement('span');
      badge.className = 'badge dangling';
      badge.textContent = 'dangling';
      badge.title = 'The entry leads to no configuration of the catalogue';
      parts.push(badge);
    }
    entry.conf.replaceChildren(...parts);
  }

  const POWER_LABELS = {
    On: ['on', 'On'],
    Off: ['off', 'Off'],
    Unknown: ['unknown', 'Unknown'],
    pending: ['none', '…'],
    none: ['none', '—'],
  };

  function setPower(entry, powerState) {
    if (entry.powerState === powerState) return;
    entry.powerState = powerState;
    const [kind, label] = POWER_LABELS[powerState] || ['unknown', String(powerState)];
    const badge = document.createElement('span');
    badge.className = kind === 'none' ? 'none' : `badge ${kind}`;
    badge.textContent = label;
    if (powerState === 'none') badge.title = 'No power management';
    if (powerState === 'pending') badge.title = 'Reading the power state…';
    entry.power.replaceChildren(badge);
  }

  function setBoot(entry, lastBoot) {
    const text = lastBoot
      ? `${formatTime(lastBoot.time)}${lastBoot.configuration ? ` · ${lastBoot.configuration}` : ''}`
      : '';
    if (entry.boot.textContent !== text) {
      entry.boot.textContent = text;
      entry.boot.title = lastBoot && lastBoot.time ? lastBoot.time : '';
    }
  }

  function formatTime(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return String(iso || '');
    const pad = (n) => String(n).padStart(2, '0');
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(
      date.getHours(),
    )}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  }

  // Puts a listing in the table: rows of known hosts are updated, new ones built, gone ones
  // removed. The first listing builds every row in one go.
  function showHosts(hosts) {
    const seen = new Set();
    for (const host of hosts) {
      seen.add(host.name);
      const entry = state.entries.get(host.name);
      if (entry) {
        updateEntry(entry, host);
      } else {
        state.entries.set(host.name, buildEntry(host));
      }
    }
    for (const [name, entry] of state.entries) {
      if (!seen.has(name)) {
        entry.row.remove();
        state.entries.delete(name);
      }
    }
    state.order = Array.from(state.entries.values());
    sortRows();
    applyFilter();
  }

  // ---- Sorting and filtering -------------------------------------------------------------

  const POWER_ORDER = { On: 0, Off: 1, Unknown: 2, pending: 3, none: 4 };
  const SORT_KEYS = {
    name: null,
    configuration: (e) => (e.host.configuration ? e.host.configuration.name : '\uffff'),
    power: (e) => POWER_ORDER[e.powerState] ?? 5,
    boot: (e) => (e.host.lastBoot && e.host.lastBoot.time) || '',
  };

  function compare(a, b) {
    const { key, dir } = state.sort;
    const of = SORT_KEYS[key];
    if (of) {
      const x = of(a);
      const y = of(b);
      if (key === 'boot' && (x === '') !== (y === '')) return x === '' ? 1 : -1; // never booted: last
      const c = typeof x === 'number' ? x - y : collator.compare(x, y);
      if (c !== 0) return c * dir;
    }
    return collator.compare(a.name, b.name) * (key === 'name' ? dir : 1);
  }

  function sortRows() {
    state.order.sort(compare);
    const fragment = document.createDocumentFragment();
    for (const entry of state.order) fragment.appendChild(entry.row);
    ui.tbody.appendChild(fragment);
    for (const th of document.querySelectorAll('#hosts-table th[data-sort]')) {
      if (th.dataset.sort === state.sort.key) {
        th.setAttribute('aria-sort', state.sort.dir > 0 ? 'ascending' : 'descending');
      } else {
        th.removeAttribute('aria-sort');
      }
    }
  }

  function applyFilter() {
    state.query = ui.filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const entry of state.order) {
      const visible = state.query.every((term) => entry.key.includes(term));
      if (visible !== entry.visible) {
        entry.visible = visible;
        entry.row.hidden = !visible;
      }
      if (visible) shown += 1;
    }
    const total = state.order.length;
    const noun = total === 1 ? 'host' : 'hosts';
    ui.count.textContent = shown === total ? `${total} ${noun}` : `${shown} of ${total} ${noun}`;
    ui.empty.hidden = shown > 0 || ui.body.dataset.state === 'loading';
    ui.empty.textContent =
      total === 0 ? 'No host in the configuration file.' : `No host matches “${ui.filter.value.trim()}”.`;
    updateSelection();
  }

  let filterTimer = 0;
  ui.filter.addEventListener('input', () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(applyFilter, state.order.length > 300 ? 120 : 0);
  });
  $('filter-form').addEventListener('submit', (event) => {
    event.preventDefault();
    clearTimeout(filterTimer);
    applyFilter();
  });

  document.querySelector('#hosts-table thead').addEventListener('click', (event) => {
    const th = event.target.closest('th[data-sort]');
    if (!th || !event.target.closest('button')) return;
    const key = th.dataset.sort;
    // A first click sorts up, the last boot newest first; a second click reverses.
    const first = key === 'boot' ? -1 : 1;
    state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : first };
    sortRows();
  });

  // ---- Selection -------------------------------------------------------------------------

  const targets = () => state.order.filter((e) => e.selected && e.visible);

  function select(entry, on) {
    entry.selected = on;
    if (entry.box.checked !== on) entry.box.checked = on;
    entry.row.classList.toggle('selected', on);
  }

  function updateSelection() {
    const chosen = targets();
    const hiddenCount = state.order.filter((e) => e.selected && !e.visible).length;
    let text;
    if (chosen.length === 0) text = 'No host selected';
    else if (chosen.length === 1) text = `1 host selected: ${chosen[0].name}`;
    else text = `${chosen.length} hosts selected`;
    if (hiddenCount > 0) text += ` (${hiddenCount} hidden by the filter, left out)`;
    ui.selection.textContent = text;
    const visible = state.order.filter((e) => e.visible).length;
    ui.selectAll.checked = visible > 0 && chosen.length === visible;
    ui.selectAll.indeterminate = chosen.length > 0 && chosen.length < visible;
    const off = state.busy || chosen.length === 0;
    ui.deploy.disabled = off || !ui.configuration.value;
    for (const button of ui.powerButtons) button.disabled = off;
  }

  ui.tbody.addEventListener('change', (event) => {
    const box = event.target;
    if (box.name !== 'host') return;
    const entry = state.entries.get(box.value);
    if (entry) select(entry, box.checked);
    updateSelection();
  });
  ui.selectAll.addEventListener('change', () => {
    const on = ui.selectAll.checked;
    for (const entry of state.order) if (entry.visible) select(entry, on);
    updateSelection();
  });
  ui.configuration.addEventListener('change', updateSelection);

  // ---- Actions ---------------------------------------------------------------------------

  function setBusy(busy) {
    state.busy = busy;
    ui.body.dataset.busy = busy ? 'true' : 'false';
    updateSelection();
  }

  // Runs `task(name)` for every name, PARALLEL at a time; stops starting new ones once the
  // token prompt was cancelled. Resolves with [{name, ok, value|error}] in the names' order.
  async function eachHost(names, task) {
    const results = new Array(names.length);
    let next = 0;
    let cancelled = false;
    const one = async (i) => {
      const name = names[i];
      if (cancelled) {
        results[i] = { name, ok: false, error: 'not sent: no token was given' };
        return;
      }
      try {
        results[i] = { name, ok: true, value: await task(name) };
      } catch (e) {
        if (e.cancelled) cancelled = true;
        results[i] = { name, ok: false, error: e.message };
      }
    };
    const worker = async () => {
      while (next < names.length) await one(next++);
    };
    // The first request alone: a 401 asks for the token once, before the others are sent.
    if (names.length > 0) await one(next++);
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    return results;
  }

  const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

  async function deploy() {
    const configuration = ui.configuration.value;
    const names = targets().map((e) => e.name);
    if (!configuration || names.length === 0) return;
    const reboot = ui.reboot.checked;
    if (
      reboot &&
      !(await confirmAction(
        `Deploy ${configuration} and reboot?`,
        `The ${plural(names.length, 'host')} below will boot ${configuration} and be rebooted now.`,
        `Deploy and reboot ${plural(names.length, 'host')}`,
        names,
      ))
    ) {
      return;
    }
    setBusy(true);
    try {
      const { data } = await api('PUT', `/v1/configurations/${encodeURIComponent(configuration)}/deploy`, {
        hosts: names.map((name) => ({ name, reboot })),
      });
      const hosts = (data && data.hosts) || [];
      const problems = [];
      const deployed = [];
      for (const result of hosts) {
        const entry = state.entries.get(result.name);
        if (result.error) {
          problems.push(`${result.name}: ${result.error}`);
          continue;
        }
        deployed.push(result.name);
        if (entry) {
          const known = state.configurations.get(result.configuration);
          setConfiguration(entry, {
            name: result.configuration,
            bootloader: known ? known.bootloader : null,
          });
        }
        if (result.rebooted === 'ERROR') problems.push(`${result.name}: the reboot failed (the deploy stands)`);
        if (result.netboot === 'ERROR') problems.push(`${result.name}: the network boot could not be set`);
      }
      const rebooted = hosts.filter((h) => h.rebooted === 'YES').length;
      let text = `${configuration} deployed to ${
        deployed.length === 1 ? deployed[0] : plural(deployed.length, 'host')
      }`;
      if (reboot) text += `; ${plural(rebooted, 'host')} rebooted`;
      notify(problems.length ? 'error' : 'ok', `${text}.`, problems);
      await refreshHosts(names, reboot);
    } catch (e) {
      notify('error', `Deploy of ${configuration} failed: ${e.message}`);
    } finally {
      setBusy(false);
    }
  }

  const POWER = {
    on: { verb: 'Power on', done: 'powered on' },
    off: {
      verb: 'Power off',
      done: 'powered off',
      confirm: 'cut the power of the hosts below at once (no clean shutdown)',
    },
    reboot: {
      verb: 'Reboot',
      done: 'rebooted',
      confirm: 'reset the hosts below at once (no clean shutdown); a host that is off is powered on',
    },
    undeploy: {
      verb: 'Undeploy',
      done: 'undeployed (the TFTP default at the next boot)',
      confirm: 'remove the configuration of the hosts below: they boot the TFTP default next time',
    },
  };

  async function power(action) {
    const names = targets().map((e) => e.name);
    const what = POWER[action];
    if (!what || names.length === 0) return;
    if (
      what.confirm &&
      !(await confirmAction(
        `${what.verb} ${plural(names.length, 'host')}?`,
        `This will ${what.confirm}.`,
        `${what.verb} ${plural(names.length, 'host')}`,
        names,
      ))
    ) {
      return;
    }
    setBusy(true);
    try {
      const results = await eachHost(names, (name) =>
        action === 'undeploy'
          ? api('DELETE', `${hostPath(name)}/configuration`)
          : api('PATCH', `${hostPath(name)}/${action}`),
      );
      const done = results.filter((r) => r.ok);
      const failed = results.filter((r) => !r.ok);
      for (const r of done) {
        const entry = state.entries.get(r.name);
        if (entry && action === 'undeploy' && r.value && r.value.data) updateEntry(entry, r.value.data);
      }
      const head = done.length
        ? `${what.verb}: ${done.length === 1 ? done[0].name : plural(done.length, 'host')} ${what.done}`
        : `${what.verb} failed`;
      const tail = failed.length && done.length ? `; ${plural(failed.length, 'host')} failed` : '';
      notify(
        failed.length ? 'error' : 'ok',
        `${head}${tail}.`,
        failed.map((r) => `${r.name}: ${r.error}`),
      );
      if (action !== 'undeploy') await refreshHosts(done.map((r) => r.name), true);
    } finally {
      setBusy(false);
    }
  }

  $('actions').addEventListener('submit', (event) => {
    event.preventDefault();
    deploy();
  });
  for (const button of ui.powerButtons) {
    button.addEventListener('click', () => power(button.dataset.action));
  }

  // After a change: the listing without power states, then the power of the hosts acted on.
  async function refreshHosts(names, withPower) {
    try {
      const { data } = await api('GET', '/v1/hosts?status=false');
      showHosts(data || []);
    } catch (e) {
      notify('error', `Cannot list the hosts: ${e.message}`);
      return;
    }
    if (!withPower) return;
    const managed = names.filter((n) => {
      const entry = state.entries.get(n);
      return entry && hasPower(entry.host);
    });
    if (managed.length > 50) {
      loadPower();
      return;
    }
    await eachHost(managed, async (name) => {
      const { data } = await api('GET', `${hostPath(name)}?status=true`);
      const entry = state.entries.get(name);
      if (entry && data) updateEntry(entry, data);
    });
  }

  // ---- Events ----------------------------------------------------------------------------

  ui.tbody.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-events]');
    if (!button) return;
    const row = button.closest('tr');
    if (row) showEvents(row.dataset.name);
  });

  async function showEvents(name) {
    const dialog = $('events');
    const status = $('events-status');
    const table = $('events-table');
    $('events-title').textContent = `Events of ${name}`;
    status.textContent = 'Loading…';
    status.className = 'muted';
    table.hidden = true;
    $('events-rows').replaceChildren();
    dialog.showModal();
    $('events-close').focus();
    let events;
    try {
      ({ data: events } = await api('GET', `${hostPath(name)}/events?limit=50`));
    } catch (e) {
      status.textContent = e.status === 404 ? 'No events available.' : `Cannot read the events: ${e.message}`;
      status.className = e.status === 404 ? 'muted' : 'error';
      return;
    }
    if (!Array.isArray(events) || events.length === 0) {
      status.textContent = 'No events recorded for this host yet.';
      return;
    }
    status.textContent = `The last ${plural(events.length, 'event')}, newest first.`;
    $('events-rows').replaceChildren(
      ...events.map((ev) => {
        const tr = document.createElement('tr');
        const change = ev.from || ev.to ? `${ev.from || '—'} → ${ev.to || '—'}` : '';
        const cells = [formatTime(ev.time), ev.kind, change, ev.who, ev.peer, ev.result];
        for (const value of cells) {
          const td = document.createElement('td');
          td.textContent = value == null ? '' : String(value);
          tr.appendChild(td);
        }
        if (ev.result && ev.result !== 'ok') tr.lastChild.className = 'error';
        return tr;
      }),
    );
    table.hidden = false;
  }
  $('events-close').addEventListener('click', (event) => {
    event.preventDefault();
    $('events').close();
  });

  // ---- Unknown machines --------------------------------------------------------------------

  async function showUnknown() {
    const status = $('unknown-status');
    const table = $('unknown-table');
    status.textContent = 'Loading…';
    status.className = 'muted';
    table.hidden = true;
    $('unknown-rows').replaceChildren();
    $('unknown').showModal();
    $('unknown-close').focus();
    let machines;
    try {
      ({ data: machines } = await api('GET', '/v1/unknown-machines'));
    } catch (e) {
      status.textContent = `Cannot read the unknown machines: ${e.message}`;
      status.className = 'error';
      return;
    }
    if (!Array.isArray(machines) || machines.length === 0) {
      status.textContent = 'No unknown machine has booted since the server started.';
      return;
    }
    status.textContent = `${plural(machines.length, 'machine')}, last seen first.`;
    $('unknown-rows').replaceChildren(
      ...machines.map((m) => {
        const tr = document.createElement('tr');
        const cells = [m.macAddress, formatTime(m.lastSeen), formatTime(m.firstSeen), m.count, m.peer, m.via];
        for (const value of cells) {
          const td = document.createElement('td');
          td.textContent = value == null ? '' : String(value);
          tr.appendChild(td);
        }
        return tr;
      }),
    );
    table.hidden = false;
  }
  $('unknown-open').addEventListener('click', () => showUnknown());
  $('unknown-close').addEventListener('click', (event) => {
    event.preventDefault();
    $('unknown').close();
  });

  // ---- Loading ---------------------------------------------------------------------------

  async function loadConfigurations() {
    const { data } = await api('GET', '/v1/configurations');
    const list = data || [];
    state.configurations = new Map(list.map((c) => [c.name, c]));
    const previous = ui.configuration.value;
    const placeholder = new Option('Choose…', '');
    const groups = new Map();
    for (const c of list) {
      const group = c.bootloader ? c.bootloader.name : '';
      if (!groups.has(group)) groups.set(group, []);
      groups.get(group).push(new Option(c.name, c.name));
    }
    const children = [placeholder];
    for (const [group, options] of groups) {
      if (group && groups.size > 1) {
        const optgroup = document.createElement('optgroup');
        optgroup.label = group;
        optgroup.append(...options);
        children.push(optgroup);
      } else {
        children.push(...options);
      }
    }
    ui.configuration.replaceChildren(...children);
    if (state.configurations.has(previous)) ui.configuration.value = previous;
  }

  // Power states in the background: the table is usable meanwhile.
  async function loadPower() {
    const run = ++state.statusRun;
    ui.powerNote.textContent = 'Reading power states…';
    ui.body.dataset.power = 'loading';
    try {
      const { data } = await api('GET', '/v1/hosts?status=true');
      if (run !== state.statusRun) return;
      showPower(data || []);
      ui.powerNote.textContent = `Power states read at ${formatTime(new Date()).slice(11)}`;
      ui.body.dataset.power = 'loaded';
    } catch (e) {
      if (run !== state.statusRun) return;
      for (const entry of state.order) if (entry.powerState === 'pending') setPower(entry, 'Unknown');
      ui.powerNote.textContent = `Power states unavailable: ${e.message}`;
      ui.body.dataset.power = 'failed';
    }
  }

  // The power part of a listing with status: power states and BMC addresses only. Its
  // configurations may be older than a deploy made while the BMCs were being asked.
  function showPower(hosts) {
    for (const host of hosts) {
      const entry = state.entries.get(host.name);
      if (!entry) continue;
      updateEntry(entry, { ...host, configuration: entry.host.configuration });
    }
    if (state.sort.key === 'power') sortRows();
  }

  // With a shared store (etcd): which servers share it, and a warning while etcd is away
  // (what the page shows may then be behind the fleet's state).
  async function loadStatus() {
    const element = $('store');
    try {
      const { data } = await api('GET', '/v1/status');
      if (!data || !data.etcd) {
        element.hidden = true;
        return;
      }
      const sites = [...new Set((data.servers || []).map((s) => s.site))].join(', ');
      const count = (data.servers || []).length;
      element.hidden = false;
      element.classList.toggle('warn', Boolean(data.stale));
      element.textContent = data.etcd.reachable
        ? `etcd: ${count} server${count === 1 ? '' : 's'} (${sites})`
        : 'etcd away: changes refused, list may be stale';
    } catch (e) {
      element.hidden = true;
    }
  }

  async function loadAll() {
    ui.powerNote.textContent = '';
    loadStatus();
    try {
      const [, hosts] = await Promise.all([
        loadConfigurations(),
        api('GET', '/v1/hosts?status=false'),
      ]);
      ui.body.dataset.state = 'ready';
      showHosts(hosts.data || []);
    } catch (e) {
      ui.body.dataset.state = 'error';
      notify('error', `Cannot load the hosts: ${e.message}`);
      return;
    }
    loadPower();
  }

  $('reload').addEventListener('click', () => loadAll());
  $('notice-close').addEventListener('click', () => {
    $('notice').hidden = true;
  });
  ui.forget.addEventListener('click', () => {
    token.forget();
    notify('ok', 'The token is forgotten; the next change asks for it again.');
  });
  ui.forget.hidden = !token.get();

  api('GET', '/v1/version')
    .then(({ data }) => {
      $('version').textContent = data && data.version ? `v${data.version}` : '';
    })
    .catch(() => {});
  loadAll();
  setInterval(loadStatus, 10000);
})();
