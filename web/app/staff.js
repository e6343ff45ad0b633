/**
 * Screens for operators, technicians and customer service, built on the API as it stands: the fleet
 * overview, the meter list with filters and search, a meter's page with confirmed commands, the live alerts
 * feed (server-sent events), tariffs, vendors, the audit log, and customer-service cases with their KPI.
 * Each route lists the roles that may open it (admin may open all).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';
import { html } from './html.js';
import { dateTime, num, problemText, t } from './i18n.js';
import { formatMinor } from './money.js';
import { Alert, Screen } from './ui.js';

const FLEET = ['operator', 'technician', 'service'];

/** Loads `path` (re-loading when `deps` change): { data, error, reload }. */
function useApi(path, deps = []) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    setError(null);
    api('GET', path).then(
      (d) => live && setData(d),
      (err) => live && setError(problemText(err)),
    );
    return () => {
      live = false;
    };
  }, [path, n, ...deps]);
  return { data, error, reload: () => setN((x) => x + 1) };
}

function Flag({ on, kind, children }) {
  return on ? html`<span class=${`badge ${kind}`}>${children}</span>` : null;
}

function MeterFlags({ m }) {
  return html`<span class="flags">
    <span class=${`badge ${m.online ? 'ok' : 'bad'}`}>${m.online ? t('fleet.online') : t('fleet.offline')}</span>
    <${Flag} on=${m.lowCredit} kind="warn">${t('fleet.lowCredit')}<//>
    <${Flag} on=${m.disconnected} kind="bad">${t('fleet.disconnected')}<//>
    <${Flag} on=${m.tamper} kind="bad">${t('fleet.tamper')}<//>
  </span>`;
}

function Overview() {
  const { data, error } = useApi('/api/v1/fleet/overview');
  const cards = [
    ['total', ''],
    ['online', 'online=true'],
    ['offline', 'online=false'],
    ['lowCredit', 'lowCredit=true'],
    ['disconnected', 'disconnected=true'],
    ['tamper', 'tamper=true'],
  ];
  return html`<${Screen} name="fleet-overview" title=${t('fleet.title')} wide>
    <${Alert}>${error}<//>
    ${
      data
        ? html`<ul class="cards">
            ${cards.map(
              ([key, query]) => html`<li>
                <a class="card" href=${`/#/ops/meters${query ? `?${query}` : ''}`} data-testid=${`count-${key}`}>
                  <span class="count">${num(data[key])}</span>
                  <span class="label">${t(`fleet.${key}`)}</span>
                </a>
              </li>`,
            )}
          </ul>
          <div class="table-scroll">
            <table>
              <caption>${t('fleet.byArea')}</caption>
              <thead>
                <tr>
                  <th scope="col">${t('fleet.area')}</th>
                  ${cards.map(([key]) => html`<th scope="col" class="n">${t(`fleet.${key}`)}</th>`)}
                </tr>
              </thead>
              <tbody>
                ${data.byArea.map(
                  (a) => html`<tr>
                    <th scope="row">
                      ${
                        a.area
                          ? html`<a href=${`/#/ops/meters?area=${encodeURIComponent(a.area)}`}>${a.area}</a>`
                          : t('fleet.noArea')
                      }
                    </th>
                    ${cards.map(([key]) => html`<td class="n">${num(a[key])}</td>`)}
                  </tr>`,
                )}
              </tbody>
            </table>
          </div>`
        : null
    }
  <//>`;
}

const FILTERS = ['online', 'lowCredit', 'disconnected', 'tamper'];

function MeterList({ query, navigate }) {
  const [q, setQ] = useState(query.get('q') ?? '');
  const params = new URLSearchParams();
  for (const k of ['q', 'area', 'online', ...FILTERS]) if (query.get(k)) params.set(k, query.get(k));
  const offset = Number(query.get('offset') ?? 0);
  params.set('limit', '50');
  params.set('offset', String(offset));
  const { data, error } = useApi(`/api/v1/fleet/meters?${params}`);

  function go(change) {
    const next = new URLSearchParams(query);
    for (const [k, v] of Object.entries(change)) {
      if (v === null || v === '') next.delete(k);
      else next.set(k, v);
    }
    if (!('offset' in change)) next.delete('offset');
    navigate(`/ops/meters${next.size ? `?${next}` : ''}`);
  }

  return html`<${Screen} name="fleet-meters" title=${t('fleet.meters')} wide>
    <form
      class="inline"
      role="search"
      onSubmit=${(e) => {
        e.preventDefault();
        go({ q: q.trim() });
      }}
    >
      <div class="field">
        <label for="meter-search">${t('fleet.search')}</label>
        <input id="meter-search" type="search" value=${q} onInput=${(e) => setQ(e.currentTarget.value)} />
      </div>
      <button type="submit">${t('common.search')}</button>
    </form>
    <fieldset class="filters">
      <legend>${t('common.filter')}</legend>
      <label>
        <span>${t('fleet.presence')}</span>
        <select
          value=${query.get('online') ?? ''}
          onChange=${(e) => go({ online: e.currentTarget.value })}
          aria-label=${t('fleet.presence')}
        >
          <option value="">${t('common.all')}</option>
          <option value="true">${t('fleet.online')}</option>
          <option value="false">${t('fleet.offline')}</option>
        </select>
      </label>
      ${['lowCredit', 'disconnected', 'tamper'].map(
        (f) => html`<label class="check">
          <input
            type="checkbox"
            checked=${query.get(f) === 'true'}
            onChange=${(e) => go({ [f]: e.currentTarget.checked ? 'true' : null })}
          />
          ${t(`fleet.${f}`)}
        </label>`,
      )}
      ${
        query.get('area')
          ? html`<button type="button" onClick=${() => go({ area: null })}>
            ${t('fleet.area')}: ${query.get('area')} ×
          </button>`
          : null
      }
    </fieldset>
    <${Alert}>${error}<//>
    ${
      data
        ? html`<p role="status" data-testid="meter-total">${t('fleet.found', { n: num(data.total) })}</p>
          <div class="table-scroll">
            <table>
              <caption class="visually-hidden">${t('fleet.meters')}</caption>
              <thead>
                <tr>
                  <th scope="col">${t('topup.meter')}</th>
                  <th scope="col">${t('receipt.customer')}</th>
                  <th scope="col">${t('fleet.area')}</th>
                  <th scope="col">${t('fleet.state')}</th>
                  <th scope="col">${t('fleet.lastSeen')}</th>
                </tr>
              </thead>
              <tbody>
                ${data.meters.map(
                  (m) => html`<tr>
                    <th scope="row"><a href=${`/#/ops/meters/${m.id}`}><bdi dir="ltr">${num(m.serial)}</bdi></a></th>
                    <td><bdi>${m.customer?.name ?? '—'}</bdi></td>
                    <td>${m.premise?.area ?? '—'}</td>
                    <td><${MeterFlags} m=${m} /></td>
                    <td>${m.lastSeenAt ? dateTime(m.lastSeenAt) : '—'}</td>
                  </tr>`,
                )}
              </tbody>
            </table>
          </div>
          <div class="actions">
            ${
              offset > 0
                ? html`<button type="button" onClick=${() => go({ offset: String(Math.max(0, offset - 50)) })}>
                  ${t('common.previous')}
                </button>`
                : null
            }
            ${
              offset + 50 < data.total
                ? html`<button type="button" onClick=${() => go({ offset: String(offset + 50) })}>${t('common.next')}</button>`
                : null
            }
          </div>`
        : null
    }
  <//>`;
}

const COMMANDS = ['disconnect', 'reconnect', 'read_now'];

/** A confirmation in a modal <dialog>: focus stays inside, Escape cancels. */
function Confirm({ open, title, children, onConfirm, onCancel, busy }) {
  const ref = useRef(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return html`<dialog ref=${ref} aria-labelledby="confirm-title" onCancel=${onCancel} class="confirm">
    <h2 id="confirm-title">${title}</h2>
    ${children}
    <div class="actions">
      <button type="button" class="primary" onClick=${onConfirm} disabled=${busy}>${t('common.confirm')}</button>
      <button type="button" onClick=${onCancel}>${t('common.cancel')}</button>
    </div>
  </dialog>`;
}

function MeterPage({ params, who }) {
  const { data, error, reload } = useApi(`/api/v1/fleet/meters/${params.id}`);
  const [pending, setPending] = useState(null);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState(null);
  const [cmdError, setCmdError] = useState(null);
  const mayCommand = who.role === 'operator' || who.role === 'technician' || who.role === 'admin';

  async function send() {
    setBusy(true);
    setCmdError(null);
    try {
      // The meter is told why (the contract's reason code); the person's note goes to the command row.
      const payload = pending === 'read_now' ? {} : { reason: 'operator' };
      await api('POST', `/api/v1/meters/${params.id}/commands`, {
        body: { kind: pending, payload, ...(reason.trim() ? { reason: reason.trim() } : {}) },
      });
      setNotice(t('meter.commandQueued', { command: t(`command.${pending}`) }));
      setPending(null);
      setReason('');
      reload();
    } catch (err) {
      setCmdError(problemText(err));
    } finally {
      setBusy(false);
    }
  }

  const m = data?.meter;
  return html`<${Screen} name="fleet-meter" title=${m ? t('meter.title', { serial: m.serial }) : t('common.loading')} wide>
    <${Alert}>${error}<//>
    <${Alert} kind="ok">${notice}<//>
    ${
      m
        ? html`<dl class="facts">
            <div><dt>${t('fleet.state')}</dt><dd><${MeterFlags} m=${m} /></dd></div>
            <div><dt>${t('receipt.customer')}</dt><dd><bdi>${m.customer?.name ?? '—'}</bdi></dd></div>
            <div><dt>${t('receipt.account')}</dt><dd><bdi dir="ltr">${m.account?.number ?? '—'}</bdi></dd></div>
            <div><dt>${t('fleet.area')}</dt><dd>${m.premise?.area ?? '—'}</dd></div>
            <div><dt>${t('meter.mode')}</dt><dd>${t(`meter.mode.${m.mode}`)} · ${m.protocol}</dd></div>
            <div>
              <dt>${t('meter.credit')}</dt>
              <dd>${data.credit ? html`<bdi dir="ltr">${num(data.credit.amount)}</bdi> ${data.credit.currency}` : '—'}</dd>
            </div>
            <div><dt>${t('fleet.lastSeen')}</dt><dd>${m.lastSeenAt ? dateTime(m.lastSeenAt) : '—'}</dd></div>
          </dl>
          ${
            mayCommand
              ? html`<h2>${t('meter.commands')}</h2>
                <div class="actions">
                  ${COMMANDS.map(
                    (c) => html`<button
                      type="button"
                      class=${c === 'disconnect' ? 'danger' : ''}
                      onClick=${() => {
                        setNotice(null);
                        setPending(c);
                      }}
                    >
                      ${t(`command.${c}`)}
                    </button>`,
                  )}
                </div>`
              : null
          }
          <${Confirm}
            open=${pending !== null}
            title=${pending ? t('meter.confirmTitle', { command: t(`command.${pending}`), serial: m.serial }) : ''}
            busy=${busy}
            onConfirm=${send}
            onCancel=${() => setPending(null)}
          >
            <p>${pending === 'disconnect' ? t('meter.disconnectWarning') : t('meter.confirmText')}</p>
            <div class="field">
              <label for="command-reason">${t('meter.reason')}</label>
              <input id="command-reason" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} />
            </div>
            <${Alert}>${cmdError}<//>
          <//>
          <div class="table-scroll">
            <table>
              <caption>${t('meter.commandLog')}</caption>
              <thead>
                <tr>
                  <th scope="col">${t('meter.command')}</th>
                  <th scope="col">${t('meter.commandState')}</th>
                  <th scope="col">${t('meter.at')}</th>
                </tr>
              </thead>
              <tbody data-testid="commands">
                ${data.commands.length === 0 ? html`<tr><td colspan="3">${t('common.none')}</td></tr>` : null}
                ${data.commands.map(
                  (c) => html`<tr>
                    <td>${t(`command.${c.kind}`)}</td>
                    <td><span class="badge">${t(`commandState.${c.state}`)}</span></td>
                    <td>${dateTime(c.createdAt)}</td>
                  </tr>`,
                )}
              </tbody>
            </table>
          </div>
          <${SimpleTable}
            caption=${t('meter.events')}
            rows=${data.events}
            cols=${[[t('meter.at'), (e) => dateTime(e.ts)], [t('meter.event'), (e) => e.kind]]}
          />
          <${SimpleTable}
            caption=${t('meter.tokens')}
            rows=${data.tokens}
            cols=${[
              [t('meter.at'), (x) => dateTime(x.issuedAt)],
              [t('meter.tokenKind'), (x) => x.kind],
              [
                t('token.label'),
                (x) =>
                  html`<bdi dir="ltr" class="mono">${num(x.token.replace(/(\d{4})(?=\d)/g, '$1-'))}</bdi>`,
              ],
              [t('meter.used'), (x) => (x.usedAt ? dateTime(x.usedAt) : '—')],
            ]}
          />
          <${SimpleTable}
            caption=${t('meter.ledger')}
            rows=${data.ledger}
            cols=${[
              [t('meter.at'), (x) => dateTime(x.at)],
              [t('meter.entry'), (x) => x.kind],
              [t('meter.amount'), (x) => html`<bdi dir="ltr">${num(x.amount)}</bdi>`, 'n'],
            ]}
          />`
        : null
    }
  <//>`;
}

function SimpleTable({ caption, rows, cols }) {
  return html`<div class="table-scroll">
    <table>
      <caption>${caption}</caption>
      <thead>
        <tr>${cols.map(([label, , cls]) => html`<th scope="col" class=${cls ?? ''}>${label}</th>`)}</tr>
      </thead>
      <tbody>
        ${rows.length === 0 ? html`<tr><td colspan=${cols.length}>${t('common.none')}</td></tr>` : null}
        ${rows.map((r) => html`<tr>${cols.map(([, cell, cls]) => html`<td class=${cls ?? ''}>${cell(r)}</td>`)}</tr>`)}
      </tbody>
    </table>
  </div>`;
}

/** The live alerts feed: a one-use ticket opens an EventSource (it cannot send the bearer header). */
function Alerts() {
  const [alerts, setAlerts] = useState([]);
  const [state, setState] = useState('connecting');
  useEffect(() => {
    let source = null;
    let closed = false;
    async function open() {
      try {
        const { ticket } = await api('POST', '/api/v1/alerts/stream-tickets');
        if (closed) return;
        source = new EventSource(`/api/v1/alerts/stream?ticket=${encodeURIComponent(ticket)}`);
        source.addEventListener('ready', () => setState('live'));
        source.addEventListener('alert', (e) => {
          const a = JSON.parse(e.data);
          setAlerts((list) => [a, ...list.filter((x) => x.id !== a.id)].slice(0, 200));
        });
        source.onerror = () => {
          // A ticket opens one stream only: on a drop, ask for a new one.
          source?.close();
          setState('reconnecting');
          if (!closed) setTimeout(open, 5000);
        };
      } catch {
        setState('reconnecting');
        if (!closed) setTimeout(open, 5000);
      }
    }
    open();
    return () => {
      closed = true;
      source?.close();
    };
  }, []);
  return html`<${Screen} name="alerts" title=${t('alerts.title')} wide>
    <p role="status" data-testid="stream-state">${t(`alerts.${state}`)}</p>
    <ul class="alerts" aria-live="polite" aria-relevant="additions">
      ${alerts.length === 0 ? html`<li>${t('alerts.none')}</li>` : null}
      ${alerts.map(
        (a) => html`<li>
          <span class="badge warn">${t(`alert.${a.kind}`)}</span>
          <a href=${`/#/ops/meters/${a.meterId}`}><bdi dir="ltr">${num(a.serial)}</bdi></a>
          ${a.area ? html`<span>${a.area}</span>` : null}
          <span class="hint">${dateTime(a.at)}</span>
        </li>`,
      )}
    </ul>
  <//>`;
}

function Tariffs() {
  const { data, error } = useApi('/api/v1/tariffs');
  return html`<${Screen} name="tariffs" title=${t('tariffs.title')} wide>
    <${Alert}>${error}<//>
    ${
      data
        ? html`<${SimpleTable}
          caption=${t('tariffs.title')}
          rows=${data.tariffs ?? []}
          cols=${[
            [t('tariffs.code'), (x) => html`<bdi dir="ltr">${x.code}</bdi>`],
            [t('tariffs.name'), (x) => x.name],
            [t('topup.kind'), (x) => t(`kind.${x.kind}`)],
            [t('tariffs.version'), (x) => num(x.version)],
            [t('tariffs.from'), (x) => dateTime(x.effectiveFrom)],
          ]}
        />`
        : null
    }
  <//>`;
}

function Vendors({ who }) {
  const { data, error } = useApi('/api/v1/vendors');
  return html`<${Screen} name="vendors" title=${t('vendors.title')} wide>
    <${Alert}>${error}<//>
    ${
      data
        ? html`<${SimpleTable}
          caption=${t('vendors.title')}
          rows=${data.vendors ?? []}
          cols=${[
            [t('vendors.name'), (x) => x.name],
            [
              t('kiosk.float'),
              (x) =>
                html`<bdi dir="ltr">${num(formatMinor(x.floatMinor, who.utility.exponent))}</bdi> ${who.utility.currency}`,
              'n',
            ],
            [
              t('vendors.commission'),
              (x) => html`<bdi dir="ltr">${num((x.commissionBp / 100).toFixed(2))}%</bdi>`,
              'n',
            ],
            [t('vendors.active'), (x) => (x.active ? t('common.yes') : t('common.no'))],
          ]}
        />`
        : null
    }
  <//>`;
}

function Audit() {
  const { data, error } = useApi('/api/v1/audit?limit=100');
  return html`<${Screen} name="audit" title=${t('audit.title')} wide>
    <${Alert}>${error}<//>
    ${
      data
        ? html`<${SimpleTable}
          caption=${t('audit.title')}
          rows=${data.entries}
          cols=${[
            [t('meter.at'), (x) => dateTime(x.at)],
            [t('audit.actor'), (x) => html`<bdi dir="ltr">${x.actor}</bdi>`],
            [t('audit.action'), (x) => html`<bdi dir="ltr">${x.action}</bdi>`],
            [t('audit.subject'), (x) => html`<bdi dir="ltr">${x.subject}</bdi>`],
          ]}
        />`
        : null
    }
  <//>`;
}

const OPEN_STATUSES = 'open,in_progress,waiting_customer';

function Cases({ query, navigate }) {
  const status = query.get('status') ?? OPEN_STATUSES;
  const { data, error } = useApi(`/api/v1/cases?status=${encodeURIComponent(status)}`);
  return html`<${Screen} name="cases" title=${t('cases.title')} wide>
    <div class="field">
      <label for="case-status">${t('cases.show')}</label>
      <select id="case-status" value=${status} onChange=${(e) => navigate(`/service/cases?status=${e.currentTarget.value}`)}>
        <option value=${OPEN_STATUSES}>${t('cases.open')}</option>
        <option value="resolved,closed">${t('cases.done')}</option>
      </select>
    </div>
    <${Alert}>${error}<//>
    ${
      data
        ? html`<${SimpleTable}
          caption=${t('cases.title')}
          rows=${data.cases}
          cols=${[
            [
              t('cases.number'),
              (c) => html`<a href=${`/#/service/cases/${c.id}`}><bdi dir="ltr">${c.number}</bdi></a>`,
            ],
            [t('cases.subject'), (c) => c.subject],
            [t('cases.category'), (c) => t(`category.${c.category}`)],
            [t('cases.status'), (c) => html`<span class="badge">${t(`status.${c.status}`)}</span>`],
            [
              t('cases.due'),
              (c) => html`<span class=${c.overdue ? 'badge bad' : ''}>${dateTime(c.slaDueAt)}</span>`,
            ],
          ]}
        />`
        : null
    }
  <//>`;
}

const NEXT_STATUS = ['in_progress', 'waiting_customer', 'resolved', 'closed'];

function CasePage({ params }) {
  const { data, error, reload } = useApi(`/api/v1/cases/${params.id}`);
  const [status, setStatus] = useState('in_progress');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [moveError, setMoveError] = useState(null);

  async function move(e) {
    e.preventDefault();
    setBusy(true);
    setMoveError(null);
    try {
      await api('POST', `/api/v1/cases/${params.id}/status`, {
        body: { status, ...(note.trim() ? { note: note.trim() } : {}) },
      });
      setNote('');
      reload();
    } catch (err) {
      setMoveError(problemText(err));
    } finally {
      setBusy(false);
    }
  }

  const c = data;
  return html`<${Screen} name="case" title=${c ? `${c.number} · ${c.subject}` : t('common.loading')} wide>
    <${Alert}>${error}<//>
    ${
      c
        ? html`<dl class="facts">
            <div><dt>${t('cases.status')}</dt><dd data-testid="case-status">${t(`status.${c.status}`)}</dd></div>
            <div><dt>${t('cases.category')}</dt><dd>${t(`category.${c.category}`)}</dd></div>
            <div><dt>${t('receipt.customer')}</dt><dd><bdi>${c.customer?.name ?? '—'}</bdi></dd></div>
            <div><dt>${t('cases.due')}</dt><dd>${dateTime(c.slaDueAt)}</dd></div>
          </dl>
          <p>${c.description}</p>
          <form onSubmit=${move} novalidate>
            <div class="field">
              <label for="case-next">${t('cases.moveTo')}</label>
              <select id="case-next" value=${status} onChange=${(e) => setStatus(e.currentTarget.value)}>
                ${NEXT_STATUS.map((s) => html`<option value=${s}>${t(`status.${s}`)}</option>`)}
              </select>
            </div>
            <div class="field">
              <label for="case-note">${t('cases.note')}</label>
              <textarea id="case-note" rows="3" value=${note} onInput=${(e) => setNote(e.currentTarget.value)}></textarea>
            </div>
            <${Alert}>${moveError}<//>
            <button type="submit" class="primary" disabled=${busy}>${t('cases.update')}</button>
          </form>
          <h2>${t('cases.timeline')}</h2>
          <ol class="timeline">
            ${c.events.map(
              (e) => html`<li>
                <span class="hint">${dateTime(e.at)}</span>
                ${
                  e.kind === 'status'
                    ? t('cases.moved', { from: t(`status.${e.fromStatus}`), to: t(`status.${e.toStatus}`) })
                    : t(`caseEvent.${e.kind}`)
                }
                ${e.note ? html`<q>${e.note}</q>` : null}
              </li>`,
            )}
          </ol>`
        : null
    }
  <//>`;
}

function Kpi() {
  const from = new Date(Date.now() - 30 * 86_400_000).toISOString();
  const { data, error } = useApi(`/api/v1/cases/kpi?from=${encodeURIComponent(from)}`);
  const pct = (x) => (x === null ? '—' : `${num(Math.round(x * 100))}%`);
  const mins = (s) => (s === null ? '—' : t('kpi.minutes', { n: num(Math.round(s / 60)) }));
  return html`<${Screen} name="kpi" title=${t('kpi.title')} wide>
    <p class="hint">${t('kpi.period')}</p>
    <${Alert}>${error}<//>
    ${
      data
        ? html`<ul class="cards">
            <li><div class="card"><span class="count" data-testid="kpi-opened">${num(data.opened)}</span><span class="label">${t('kpi.opened')}</span></div></li>
            <li><div class="card"><span class="count">${num(data.closed)}</span><span class="label">${t('kpi.closed')}</span></div></li>
            <li><div class="card"><span class="count">${pct(data.withinSlaShare)}</span><span class="label">${t('kpi.withinSla')}</span></div></li>
            <li><div class="card"><span class="count">${mins(data.firstResponse.medianSeconds)}</span><span class="label">${t('kpi.firstResponse')}</span></div></li>
            <li><div class="card"><span class="count">${num(data.overdueNow)}</span><span class="label">${t('kpi.overdue')}</span></div></li>
          </ul>
          <${SimpleTable}
            caption=${t('kpi.byCategory')}
            rows=${data.byCategory}
            cols=${[
              [t('cases.category'), (k) => t(`category.${k.category}`)],
              [t('kpi.opened'), (k) => num(k.opened), 'n'],
              [t('kpi.closed'), (k) => num(k.closed), 'n'],
              [t('kpi.withinSla'), (k) => pct(k.withinSlaShare), 'n'],
            ]}
          />`
        : null
    }
  <//>`;
}

export const STAFF_ROUTES = [
  { pattern: /^\/ops$/, roles: ['operator'], screen: Overview },
  { pattern: /^\/ops\/meters$/, roles: FLEET, screen: MeterList },
  { pattern: /^\/ops\/meters\/(?<id>[0-9a-f-]{36})$/, roles: FLEET, screen: MeterPage },
  { pattern: /^\/ops\/alerts$/, roles: FLEET, screen: Alerts },
  { pattern: /^\/ops\/tariffs$/, roles: ['operator'], screen: Tariffs },
  { pattern: /^\/ops\/vendors$/, roles: ['operator'], screen: Vendors },
  { pattern: /^\/ops\/audit$/, roles: ['operator'], screen: Audit },
  { pattern: /^\/service\/cases$/, roles: ['operator', 'service'], screen: Cases },
  { pattern: /^\/service\/cases\/(?<id>[0-9a-f-]{36})$/, roles: ['operator', 'service'], screen: CasePage },
  { pattern: /^\/service\/kpi$/, roles: ['operator', 'service'], screen: Kpi },
];

export function staffHome(who) {
  if (who.role === 'service') return '/service/cases';
  if (who.role === 'technician') return '/ops/meters';
  return '/ops';
}

export function staffNav(who) {
  const link = (path, key) => ({ href: `/#${path}`, label: t(key) });
  if (who.role === 'service') {
    return [
      link('/service/cases', 'nav.cases'),
      link('/service/kpi', 'nav.kpi'),
      link('/ops/meters', 'nav.meters'),
      link('/ops/alerts', 'nav.alerts'),
    ];
  }
  if (who.role === 'technician')
    return [link('/ops/meters', 'nav.meters'), link('/ops/alerts', 'nav.alerts')];
  return [
    link('/ops', 'nav.fleet'),
    link('/ops/meters', 'nav.meters'),
    link('/ops/alerts', 'nav.alerts'),
    link('/service/cases', 'nav.cases'),
    link('/ops/tariffs', 'nav.tariffs'),
    link('/ops/vendors', 'nav.vendors'),
    link('/ops/audit', 'nav.audit'),
  ];
}
