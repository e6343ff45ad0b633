/**
 * Screens for operators, technicians and customer service, built on the API as it stands: the fleet
 * overview, the meter list with filters and search, a meter's page with confirmed commands, the live alerts
 * feed (server-sent events), tariffs, vendors, the audit log, and customer-service cases with their KPI.
 * Each route lists the roles that may open it (admin may open all).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api } from './api.js';
import { categoryLabel } from './centre.js';
import { Consumption, Quantity } from './chart.js';
import { html } from './html.js';
import { dateTime, num, problemText, t, todayIn } from './i18n.js';
import { formatMinor, latinDigits, parseAmount } from './money.js';
import {
  Alert,
  Confirm,
  Field,
  Money,
  Screen,
  SimpleTable,
  Submit,
  saveBlob,
  useApi,
  useTask,
} from './ui.js';

const FLEET = ['operator', 'technician', 'service'];

function Flag({ on, kind, children }) {
  return on ? html`<span class=${`badge ${kind}`}>${children}</span>` : null;
}

function MeterFlags({ m }) {
  return html`<span class="flags">
    ${m.status && m.status !== 'active' ? html`<span class="badge warn" data-testid="meter-status-flag">${t(`meterStatus.${m.status}`)}</span>` : null}
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
        ? html`<p role="status" data-testid="meter-total">${data.total === 1 ? t('fleet.foundOne') : t('fleet.found', { n: num(data.total) })}</p>
          ${
            data.total === 0
              ? html`<p data-testid="empty">${t('fleet.noMatch')} <a href="/#/ops/meters">${t('fleet.showAll')}</a></p>`
              : null
          }
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

const COMMANDS = ['disconnect', 'reconnect', 'read_now', 'time_sync'];

/** The payload each command carries (docs/mqtt.md): the clock is set to this browser's time at confirming. */
function commandPayload(kind) {
  if (kind === 'read_now') return {};
  if (kind === 'time_sync') return { time: new Date().toISOString() };
  return { reason: 'operator' };
}

/** A kind the API gives as a code (event, ledger entry, token) in the reader's language; the code if unknown. */
function kindLabel(group, kind) {
  const key = `${group}.${kind}`;
  const text = t(key);
  return text === key ? kind : text;
}

const SETTLED = ['acknowledged', 'failed', 'expired', 'unknown'];
const WATCH_MS = 1500;

/**
 * Commands sent from this page, read again (`GET /api/v1/commands/{id}`) every 1.5 s until each is
 * acknowledged, failed or expired; `onSettled` runs when one settles (the meter's state has changed).
 */
function useCommandWatch(onSettled) {
  const [watched, setWatched] = useState([]);
  useEffect(() => {
    const open = watched.filter((c) => !SETTLED.includes(c.state));
    if (open.length === 0) return;
    let live = true;
    const timer = setTimeout(async () => {
      const fresh = await Promise.all(open.map((c) => api('GET', `/api/v1/commands/${c.id}`).catch(() => c)));
      if (!live) return;
      setWatched((all) => all.map((c) => fresh.find((f) => f.id === c.id) ?? c));
      if (fresh.some((f) => SETTLED.includes(f.state))) onSettled();
    }, WATCH_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [watched]);
  return { watched, watch: (command) => setWatched((all) => [command, ...all]) };
}

/** The lifecycle states a meter may move to from each state (src/meters/lifecycle.ts). */
const METER_NEXT = {
  registered: ['installed', 'decommissioned'],
  installed: ['active', 'registered', 'decommissioned'],
  active: ['suspended', 'faulty', 'decommissioned'],
  suspended: ['active', 'decommissioned'],
  faulty: ['active', 'decommissioned'],
  decommissioned: [],
};

/** The meter's lifecycle state, and a move to the next one with a reason (audited). */
/** A labelled choice of the next status (a meter's or a case's); `names` is the message group naming each. */
function StatusSelect({ id, label, value, options, names, onChoose }) {
  return html`<div class="field">
    <label for=${id}>${label}</label>
    <select id=${id} value=${value} onChange=${(e) => onChoose(e.currentTarget.value)}>
      ${options.map((s) => html`<option value=${s}>${t(`${names}.${s}`)}</option>`)}
    </select>
  </div>`;
}

function MeterLifecycle({ meter, who, onMoved }) {
  const choices = (METER_NEXT[meter.status] ?? []).filter(
    (s) => who.role !== 'technician' || s === 'installed' || s === 'active',
  );
  const [to, setTo] = useState('');
  const [reason, setReason] = useState('');
  const task = useTask((err) =>
    err instanceof ApiError && err.problem?.blocker
      ? t(`lifecycle.blocker.${err.problem.blocker}`)
      : problemText(err),
  );
  const chosen = choices.includes(to) ? to : choices[0];
  const move = (e) => {
    e.preventDefault();
    task.run(
      () => api('POST', `/api/v1/meters/${meter.id}/state`, { body: { to: chosen, reason: reason.trim() } }),
      {
        show: () => {
          setReason('');
          onMoved();
        },
      },
    );
  };
  return html`<section aria-labelledby="lifecycle-title">
    <h2 id="lifecycle-title">${t('lifecycle.title')}</h2>
    <p>
      <span class=${`badge ${meter.status === 'active' ? 'ok' : 'warn'}`} data-testid="meter-status">${t(`meterStatus.${meter.status}`)}</span>
      ${meter.status === 'active' ? null : html` <span class="hint">${t('lifecycle.notCharged')}</span>`}
    </p>
    ${
      choices.length === 0
        ? null
        : html`<form class="inline-form" onSubmit=${move}>
            <${StatusSelect} id="lifecycle-to" label=${t('lifecycle.moveTo')} value=${chosen} options=${choices} names="meterStatus" onChoose=${setTo} />
            <div class="field">
              <label for="lifecycle-reason">${t('meter.reason')}</label>
              <input id="lifecycle-reason" required minlength="3" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} />
            </div>
            <${Submit} busy=${task.busy}>${t('lifecycle.move')}<//>
          </form>`
    }
    <${Alert}>${task.error}<//>
  </section>`;
}

/**
 * The live alerts stream (server-sent events): a one-use ticket opens an EventSource (it cannot send the
 * bearer header); `onAlert` hears each alert, `onState` (optional) hears 'live' and 'reconnecting', and a
 * dropped stream is opened again with a new ticket.
 */
function useAlertStream(onAlert, onState) {
  const latest = useRef(onAlert);
  latest.current = onAlert;
  const latestState = useRef(onState);
  latestState.current = onState;
  useEffect(() => {
    let source = null;
    let closed = false;
    async function open() {
      try {
        const { ticket } = await api('POST', '/api/v1/alerts/stream-tickets');
        if (closed) return;
        source = new EventSource(`/api/v1/alerts/stream?ticket=${encodeURIComponent(ticket)}`);
        source.addEventListener('ready', () => latestState.current?.('live'));
        source.addEventListener('alert', (e) => latest.current(JSON.parse(e.data)));
        source.onerror = () => {
          // A ticket opens one stream only: on a drop, ask for a new one.
          source?.close();
          latestState.current?.('reconnecting');
          if (!closed) setTimeout(open, 5000);
        };
      } catch {
        latestState.current?.('reconnecting');
        if (!closed) setTimeout(open, 5000);
      }
    }
    open();
    return () => {
      closed = true;
      source?.close();
    };
  }, []);
}

function MeterPage({ params, who }) {
  // Times as people read them: in the utility's time zone.
  const when = (iso) => dateTime(iso, who.utility?.timezone);
  const { data, error, reload } = useApi(`/api/v1/fleet/meters/${params.id}`);
  const { watched, watch } = useCommandWatch(reload);
  // The meter's state follows it: online, offline, an event or a balance decision about it reads the page again.
  useAlertStream((alert) => {
    if (alert.meterId === params.id) reload();
  });
  const [pending, setPending] = useState(null);
  const [reason, setReason] = useState('');
  const { busy, error: cmdError, setError: setCmdError, run } = useTask();
  const [notice, setNotice] = useState(null);
  const mayCommand = who.role === 'operator' || who.role === 'technician' || who.role === 'admin';
  const [pushing, setPushing] = useState(null);

  /** A vend's credit token to its meter as a `token` command (once per token, however often asked). */
  const push = () =>
    run(() => api('POST', `/api/v1/vends/${pushing.vendId}/push`), {
      show: (command) => {
        watch(command);
        setNotice(t('ops.pushQueued'));
        setPushing(null);
        reload();
      },
    });

  const send = () =>
    run(
      () =>
        // The meter is told why (the contract's reason code); the person's note goes to the command row.
        api('POST', `/api/v1/meters/${params.id}/commands`, {
          body: {
            kind: pending,
            payload: commandPayload(pending),
            ...(reason.trim() ? { reason: reason.trim() } : {}),
          },
        }),
      {
        show: (command) => {
          watch(command);
          setNotice(null);
          setPending(null);
          setReason('');
          reload();
        },
      },
    );

  const m = data?.meter;
  const unit = m?.kind === 'water' ? 'L' : 'Wh';
  const stateOf = (c) => watched.find((w) => w.id === c.id)?.state ?? c.state;
  const latest = watched[0];
  return html`<${Screen} name="fleet-meter" title=${m ? t('meter.title', { serial: m.serial }) : t('common.loading')} wide>
    <${Alert}>${error}<//>
    <${Alert} kind="ok">${notice}<//>
    ${
      m
        ? html`<dl class="facts">
            <div><dt>${t('fleet.state')}</dt><dd data-testid="meter-state">
              <${MeterFlags} m=${m} />
              ${
                // Supply on only when the meter has told us so (a reading): never read, nothing is known yet.
                m.disconnected || !m.lastReading
                  ? null
                  : html` <span class="badge ok">${t('meter.relayOn')}</span>`
              }
            </dd></div>
            <div><dt>${t('receipt.customer')}</dt><dd><bdi>${m.customer?.name ?? '—'}</bdi></dd></div>
            <div><dt>${t('receipt.account')}</dt><dd><bdi dir="ltr">${m.account?.number ?? '—'}</bdi>${
              m.account && who.role !== 'technician'
                ? html` · <a href=${`/#/ops/accounts/${m.account.id}/arrears`}>${t('arrears.title')}</a>`
                : null
            }</dd></div>
            <div><dt>${t('fleet.area')}</dt><dd>${m.premise?.area ?? '—'}</dd></div>
            <div><dt>${t('meter.mode')}</dt><dd>${t(`meter.mode.${m.mode}`)} · ${m.protocol}</dd></div>
            <div>
              <dt>${t('meter.credit')}</dt>
              <dd data-testid="meter-credit">
                ${
                  data.credit
                    ? html`<${Money} value=${data.credit.amount} currency=${data.credit.currency} />`
                    : data.creditUnits !== null
                      ? html`<${Quantity} units=${data.creditUnits} unit=${unit} />`
                      : '—'
                }
              </dd>
            </div>
            <div><dt>${t('fleet.lastSeen')}</dt><dd data-testid="last-seen">${m.lastSeenAt ? when(m.lastSeenAt) : '—'}</dd></div>
            <div>
              <dt>${t('meter.lastReading')}</dt>
              <dd data-testid="last-reading">
                ${
                  m.lastReading
                    ? html`${m.lastReading.register !== null ? html`<${Quantity} units=${m.lastReading.register} unit=${unit} />` : '—'}
                      <span class="hint reading-at">${when(m.lastReading.ts)}</span>`
                    : '—'
                }
              </dd>
            </div>
          </dl>
          ${mayCommand ? html`<${MeterLifecycle} meter=${m} who=${who} onMoved=${reload} />` : null}
          <h2>${t('meter.consumption')}</h2>
          <${Consumption} path=${`/api/v1/fleet/meters/${params.id}/consumption`} heading="h3" />
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
          <p class="live-state" role="status" aria-live="polite" data-testid="command-live">
            ${
              latest
                ? html`<span class=${`badge ${latest.state === 'acknowledged' ? 'ok' : SETTLED.includes(latest.state) ? 'bad' : ''}`}>
                    ${t('meter.commandNow', { command: t(`command.${latest.kind}`), state: t(`commandState.${latest.state}`) })}
                  </span>${SETTLED.includes(latest.state) ? null : html` <span class="hint">${t('meter.watching')}</span>`}`
                : null
            }
          </p>
          <${Confirm}
            open=${pending !== null}
            title=${pending ? t('meter.confirmTitle', { command: t(`command.${pending}`), serial: m.serial }) : ''}
            busy=${busy}
            onConfirm=${send}
            onCancel=${() => setPending(null)}
          >
            <p>
              ${pending === 'disconnect' ? t('meter.disconnectWarning') : pending === 'time_sync' ? t('ops.timeSyncText') : t('meter.confirmText')}
            </p>
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
                    <td><span class=${`badge ${stateOf(c) === 'acknowledged' ? 'ok' : ['failed', 'expired', 'unknown'].includes(stateOf(c)) ? 'bad' : ''}`}>${t(`commandState.${stateOf(c)}`)}</span></td>
                    <td>${when(c.createdAt)}</td>
                  </tr>`,
                )}
              </tbody>
            </table>
          </div>
          <${SimpleTable}
            caption=${t('meter.events')}
            rows=${data.events}
            cols=${[[t('meter.at'), (e) => when(e.ts)], [t('meter.event'), (e) => kindLabel('eventKind', e.kind)]]}
          />
          <${SimpleTable}
            caption=${t('meter.tokens')}
            rows=${data.tokens}
            cols=${[
              [t('meter.at'), (x) => when(x.issuedAt)],
              [t('meter.tokenKind'), (x) => kindLabel('tokenKind', x.kind)],
              [
                t('token.label'),
                (x) =>
                  html`<bdi dir="ltr" class="mono">${num(x.token.replace(/(\d{4})(?=\d)/g, '$1-'))}</bdi>`,
              ],
              [t('meter.used'), (x) => (x.usedAt ? when(x.usedAt) : '—')],
              [
                t('ops.delivery'),
                (x) =>
                  x.kind === 'credit' && x.vendId && !x.usedAt
                    ? html`<button
                        type="button"
                        data-testid="push-token"
                        onClick=${() => {
                          setNotice(null);
                          setCmdError(null);
                          setPushing(x);
                        }}
                      >
                        ${t('ops.pushToken')}
                      </button>`
                    : '—',
              ],
            ]}
          />
          ${
            pushing
              ? html`<${Confirm}
            id="push-confirm"
            open=${true}
            title=${t('ops.pushTitle', { serial: m.serial })}
            busy=${busy}
            onConfirm=${push}
            onCancel=${() => setPushing(null)}
          >
            <p>${t('ops.pushText')}</p>
            <p class="mono token-inline" dir="ltr">${num(pushing.token.replace(/(\d{4})(?=\d)/g, '$1-'))}</p>
            <${Alert}>${cmdError}<//>
          <//>`
              : null
          }
          <${SimpleTable}
            caption=${t('meter.ledger')}
            rows=${data.ledger}
            cols=${[
              [t('meter.at'), (x) => when(x.at)],
              [t('meter.entry'), (x) => kindLabel('ledgerKind', x.kind)],
              [t('meter.amount'), (x) => html`<bdi dir="ltr">${num(x.amount)}</bdi>`, 'n'],
            ]}
          />`
        : null
    }
  <//>`;
}

/** The live alerts feed: a one-use ticket opens an EventSource (it cannot send the bearer header). */
function Alerts() {
  const [alerts, setAlerts] = useState([]);
  const [state, setState] = useState('connecting');
  useAlertStream(
    (a) => setAlerts((list) => [a, ...list.filter((x) => x.id !== a.id)].slice(0, 200)),
    setState,
  );
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

/** Today's date (YYYY-MM-DD) in the utility's time zone, moved by `days`. */
function dayIn(timeZone, days = 0) {
  const today = todayIn(timeZone);
  return new Date(Date.parse(today) + days * 86_400_000).toISOString().slice(0, 10);
}

/** kWh (or m³) from Wh (or litres), three decimals, by integer arithmetic. */
const thousandths = (units) => formatMinor(units, 3);

/** Revenue and consumption per day over a period, each with its CSV. */
function Reports({ who }) {
  const zone = who.utility.timezone ?? 'UTC';
  const [from, setFrom] = useState(dayIn(zone, -6));
  const [to, setTo] = useState(dayIn(zone, 1));
  const [period, setPeriod] = useState({ from: dayIn(zone, -6), to: dayIn(zone, 1) });
  const [csvError, setCsvError] = useState(null);
  const q = `from=${period.from}&to=${period.to}`;
  const revenue = useApi(`/api/v1/reports/revenue?${q}`);
  const consumption = useApi(`/api/v1/reports/consumption?${q}`);
  const exp = who.utility.exponent;
  const money = (m) => html`<bdi dir="ltr">${num(formatMinor(m.minor, exp))}</bdi>`;

  async function download(kind) {
    setCsvError(null);
    try {
      const blob = await api('GET', `/api/v1/reports/${kind}?${q}&format=csv`, { as: 'blob' });
      saveBlob(blob, `${kind}-${period.from}-${period.to}.csv`);
    } catch (err) {
      setCsvError(problemText(err));
    }
  }

  return html`<${Screen} name="reports" title=${t('reports.title')} wide>
    <form
      class="period"
      onSubmit=${(e) => {
        e.preventDefault();
        setPeriod({ from, to });
      }}
    >
      <div class="field">
        <label for="report-from">${t('reports.from')}</label>
        <input id="report-from" type="date" dir="ltr" value=${from} onInput=${(e) => setFrom(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="report-to">${t('reports.to')}</label>
        <input id="report-to" type="date" dir="ltr" value=${to} onInput=${(e) => setTo(e.currentTarget.value)} />
      </div>
      <button type="submit">${t('reports.show')}</button>
    </form>
    <p class="hint">${t('reports.periodHint', { zone })}</p>
    <${Alert}>${revenue.error || consumption.error || csvError}<//>
    <h2>${t('reports.revenue')}</h2>
    ${
      revenue.data
        ? html`<ul class="cards">
            <li><div class="card"><span class="count" data-testid="revenue-total">${money(revenue.data.total.paid)}</span><span class="label">${t('reports.paid', { currency: revenue.data.currency })}</span></div></li>
            <li><div class="card"><span class="count">${num(revenue.data.total.vends)}</span><span class="label">${t('reports.vends')}</span></div></li>
            <li><div class="card"><span class="count">${num(revenue.data.total.reversals)}</span><span class="label">${t('reports.reversals')}</span></div></li>
          </ul>
          <${SimpleTable}
            caption=${t('reports.revenuePerDay', { currency: revenue.data.currency })}
            testid="revenue-table"
            rows=${revenue.data.days}
            cols=${[
              [t('reports.day'), (d) => html`<bdi dir="ltr">${num(d.day)}</bdi>`],
              [t('reports.vends'), (d) => num(d.vends), 'n'],
              [t('reports.paidShort'), (d) => money(d.paid), 'n'],
              [t('reports.online'), (d) => money(d.online), 'n'],
              [t('reports.atVendors'), (d) => money(d.vendor), 'n'],
              [t('reports.reversed'), (d) => money(d.reversed), 'n'],
              [t('reports.kwh'), (d) => html`<bdi dir="ltr">${num(thousandths(d.energyWh))}</bdi>`, 'n'],
            ]}
          />
          <div class="actions">
            <button type="button" data-testid="revenue-csv" onClick=${() => download('revenue')}>${t('common.csv')}</button>
          </div>`
        : null
    }
    <h2>${t('reports.consumption')}</h2>
    ${
      consumption.data
        ? html`<${SimpleTable}
            caption=${t('reports.consumptionPerDay')}
            testid="consumption-table"
            rows=${consumption.data.days}
            cols=${[
              [t('reports.day'), (d) => html`<bdi dir="ltr">${num(d.day)}</bdi>`],
              [t('reports.meters'), (d) => num(d.meters), 'n'],
              [t('reports.kwh'), (d) => html`<bdi dir="ltr">${num(thousandths(d.energyWh))}</bdi>`, 'n'],
              [t('reports.m3'), (d) => html`<bdi dir="ltr">${num(thousandths(d.volumeL))}</bdi>`, 'n'],
            ]}
          />
          <div class="actions">
            <button type="button" data-testid="consumption-csv" onClick=${() => download('consumption')}>${t('common.csv')}</button>
          </div>`
        : null
    }
  <//>`;
}

/** A percentage typed by a person ("16", "2.5") to basis points; '' counts as 0. */
function basisPoints(text) {
  const s = latinDigits(text).trim();
  if (s === '' || /^0+(\.0*)?$/.test(s)) return { value: 0 };
  const p = parseAmount(s, 2);
  if (p.error) return { error: p.error };
  const bp = Number(p.minor);
  return bp > 10_000 ? { error: 'format' } : { value: bp };
}

const EMPTY_BLOCK = { upTo: '', price: '' };
const EMPTY_PERIOD = { name: '', days: 'all', fromHour: '0', toHour: '24', price: '' };
const EMPTY_SEASON = { name: '', from: '01-01', to: '12-31', periods: [{ ...EMPTY_PERIOD }] };

/** A time-of-use schedule as one line per season (docs/tariffs.md). */
function touText(x, exp) {
  return (x.tou ?? [])
    .map(
      (s) =>
        `${s.name} ${s.from}–${s.to}: ` +
        s.periods
          .map(
            (p) =>
              `${p.name} (${t(`tariffs.days.${p.days}`)} ${num(p.fromHour)}–${num(p.toHour)}) ${num(formatMinor(String(p.priceMinorPerUnit), exp))}`,
          )
          .join(', '),
    )
    .join(' · ');
}

/** Tariff versions, and a new version with its blocks (a change is always a new version, never an edit). */
function Tariffs({ who }) {
  const { data, error, reload } = useApi('/api/v1/tariffs');
  const exp = who.utility.exponent;
  const cur = who.utility.currency;
  const [form, setForm] = useState({
    code: '',
    name: '',
    kind: 'electricity',
    subsidised: false,
    effectiveFrom: dayIn(who.utility.timezone ?? 'UTC', 1),
    fixed: '',
    tax: '',
    debt: '',
    minPurchase: '',
  });
  const [blocks, setBlocks] = useState([{ ...EMPTY_BLOCK }]);
  const [scheme, setScheme] = useState('blocks');
  const [seasons, setSeasons] = useState([structuredClone(EMPTY_SEASON)]);
  const [errors, setErrors] = useState({});
  const { busy, error: saveError, run } = useTask();
  const [created, setCreated] = useState(null);
  const set = (k) => (e) =>
    setForm({
      ...form,
      [k]: e.currentTarget.type === 'checkbox' ? e.currentTarget.checked : e.currentTarget.value,
    });
  const unit = form.kind === 'water' ? 'm³' : 'kWh';

  /** Fills the form from the latest version of a code, to write its next version. */
  function startFrom(x) {
    setForm({
      code: x.code,
      name: x.name,
      kind: x.kind,
      subsidised: x.subsidised,
      effectiveFrom: dayIn(who.utility.timezone ?? 'UTC', 1),
      fixed: formatMinor(x.fixedMonthlyMinor, exp),
      tax: formatMinor(String(x.taxRateBp), 2),
      debt: formatMinor(String(x.debtRecoveryBp), 2),
      minPurchase: formatMinor(x.minPurchaseMinor, exp),
    });
    setBlocks(
      x.blocks.map((b) => ({
        upTo: b.upToUnits === null ? '' : String(b.upToUnits / x.pricePerUnits),
        price: formatMinor(String(b.priceMinorPerUnit), exp),
      })),
    );
    setScheme(x.tou ? 'tou' : 'blocks');
    setSeasons(
      x.tou
        ? x.tou.map((z) => ({
            ...z,
            periods: z.periods.map((p) => ({
              name: p.name,
              days: p.days,
              fromHour: String(p.fromHour),
              toHour: String(p.toHour),
              price: formatMinor(String(p.priceMinorPerUnit), exp),
            })),
          }))
        : [structuredClone(EMPTY_SEASON)],
    );
    setCreated(null);
    document.getElementById('tariff-code')?.focus();
  }

  function money(text, key, errs, optional = true) {
    const s = latinDigits(text).trim();
    if (optional && (s === '' || /^0+(\.0*)?$/.test(s))) return '0';
    const p = parseAmount(s, exp);
    if (p.error) {
      errs[key] = t(`amount.${p.error}`, { decimals: num(exp) });
      return null;
    }
    return p.minor;
  }

  async function save(e) {
    e.preventDefault();
    const errs = {};
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(form.code.trim())) errs.code = t('tariffs.codeRule');
    if (!form.name.trim()) errs.name = t('tariffs.nameRequired');
    const tax = basisPoints(form.tax);
    if (tax.error) errs.tax = t('tariffs.percentRule');
    const debt = basisPoints(form.debt);
    if (debt.error) errs.debt = t('tariffs.percentRule');
    const fixed = money(form.fixed, 'fixed', errs);
    const minPurchase = money(form.minPurchase, 'minPurchase', errs);
    // Prices are per kWh (per m³ of water): minor units per 1000 Wh or litres, as the API keeps them.
    const out = blocks.map((b, i) => {
      const last = i === blocks.length - 1;
      const upText = latinDigits(b.upTo).trim();
      let upToUnits = null;
      if (upText !== '' || !last) {
        if (!/^[0-9]{1,9}$/.test(upText) || Number(upText) === 0) errs[`upTo${i}`] = t('tariffs.upToRule');
        else upToUnits = Number(upText) * 1000;
      }
      const price = money(b.price, `price${i}`, errs, false);
      return { upToUnits, priceMinorPerUnit: price === null ? 0 : Number(price) };
    });
    // Time of use: seasons of periods, each hour priced once; the server refuses overlaps and gaps by name.
    const tou = seasons.map((z, si) => {
      if (!z.name.trim()) errs[`season${si}`] = t('tariffs.nameRequired');
      if (!/^\d{2}-\d{2}$/.test(z.from) || !/^\d{2}-\d{2}$/.test(z.to))
        errs[`seasonDays${si}`] = t('tariffs.monthDayRule');
      return {
        name: z.name.trim(),
        from: z.from,
        to: z.to,
        periods: z.periods.map((p, pi) => {
          const key = `${si}-${pi}`;
          if (!p.name.trim()) errs[`periodName${key}`] = t('tariffs.nameRequired');
          const from = Number(latinDigits(p.fromHour).trim());
          const to = Number(latinDigits(p.toHour).trim());
          if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && to <= 24 && from < to)) {
            errs[`hours${key}`] = t('tariffs.hoursRule');
          }
          const price = money(p.price, `periodPrice${key}`, errs, false);
          if (price !== null && Number(price) === 0) errs[`periodPrice${key}`] = t('tariffs.priceRule');
          return {
            name: p.name.trim(),
            days: p.days,
            fromHour: from,
            toHour: to,
            priceMinorPerUnit: Number(price ?? 0),
          };
        }),
      };
    });
    if (scheme === 'blocks') {
      out.forEach((b, i) => {
        if (b.priceMinorPerUnit === 0 && !errs[`price${i}`]) errs[`price${i}`] = t('tariffs.priceRule');
      });
    }
    for (const k of Object.keys(errs)) {
      const touKey = /^(season|seasonDays|periodName|hours|periodPrice)/.test(k);
      const blockKey = /^(upTo|price)\d/.test(k);
      if ((scheme === 'blocks' && touKey) || (scheme === 'tou' && blockKey)) delete errs[k];
    }
    setErrors(errs);
    if (Object.keys(errs).length > 0) return;
    await run(
      () =>
        api('POST', '/api/v1/tariffs', {
          body: {
            code: form.code.trim(),
            name: form.name.trim(),
            kind: form.kind,
            subsidised: form.subsidised,
            effectiveFrom: form.effectiveFrom,
            fixedMonthlyMinor: fixed,
            taxRateBp: tax.value,
            debtRecoveryBp: debt.value,
            minPurchaseMinor: minPurchase,
            pricePerUnits: 1000,
            ...(scheme === 'tou' ? { tou } : { blocks: out }),
          },
        }),
      {
        show: (tariff) => {
          setCreated(tariff);
          reload();
        },
      },
    );
  }

  const latest = (data?.tariffs ?? []).filter((x, i, all) => all.findIndex((y) => y.code === x.code) === i);
  const blockText = (x) =>
    x.blocks
      .map(
        (b) =>
          `${b.upToUnits === null ? '∞' : `≤ ${num(b.upToUnits / x.pricePerUnits)}`} ${x.unit === 'L' ? 'm³' : 'kWh'}: ${num(formatMinor(String(b.priceMinorPerUnit), exp))}`,
      )
      .join(' · ');

  return html`<${Screen} name="tariffs" title=${t('tariffs.title')} wide>
    <${Alert}>${error}<//>
    ${
      data
        ? html`<${SimpleTable}
          caption=${t('tariffs.versions')}
          testid="tariff-table"
          rows=${data.tariffs ?? []}
          cols=${[
            [t('tariffs.code'), (x) => html`<bdi dir="ltr">${x.code}</bdi>`],
            [t('tariffs.name'), (x) => x.name],
            [t('topup.kind'), (x) => t(`kind.${x.kind}`)],
            [t('tariffs.version'), (x) => num(x.version), 'n'],
            [t('tariffs.from'), (x) => dateTime(x.effectiveFrom)],
            [
              t('tariffs.blocks', { currency: cur }),
              (x) =>
                x.tou
                  ? html`<span data-testid="tou-summary">${t('tariffs.schemeTou')}: ${touText(x, exp)}</span>`
                  : html`<bdi dir="ltr">${blockText(x)}</bdi>`,
            ],
            [
              t('tariffs.change'),
              (x) =>
                latest.includes(x)
                  ? html`<button type="button" onClick=${() => startFrom(x)}>${t('tariffs.nextVersion')}</button>`
                  : null,
            ],
          ]}
        />`
        : null
    }
    <form onSubmit=${save} novalidate aria-labelledby="new-tariff-title" class="tariff-form">
      <h2 id="new-tariff-title">${t('tariffs.new')}</h2>
      <p class="hint">${t('tariffs.newHint')}</p>
      <div class="grid-fields">
        <${Field} id="tariff-code" label=${t('tariffs.code')} dir="ltr" value=${form.code} error=${errors.code} onInput=${set('code')} />
        <${Field} id="tariff-name" label=${t('tariffs.name')} value=${form.name} error=${errors.name} onInput=${set('name')} />
        <div class="field">
          <label for="tariff-kind">${t('topup.kind')}</label>
          <select id="tariff-kind" value=${form.kind} onChange=${set('kind')}>
            <option value="electricity">${t('kind.electricity')}</option>
            <option value="water">${t('kind.water')}</option>
          </select>
        </div>
        <${Field} id="tariff-from" type="date" dir="ltr" label=${t('tariffs.from')} value=${form.effectiveFrom} onInput=${set('effectiveFrom')} />
        <${Field} id="tariff-fixed" inputmode="decimal" dir="ltr" label=${t('tariffs.fixed', { currency: cur })} value=${form.fixed} error=${errors.fixed} onInput=${set('fixed')} />
        <${Field} id="tariff-min" inputmode="decimal" dir="ltr" label=${t('tariffs.minPurchase', { currency: cur })} value=${form.minPurchase} error=${errors.minPurchase} onInput=${set('minPurchase')} />
        <${Field} id="tariff-tax" inputmode="decimal" dir="ltr" label=${t('tariffs.tax')} value=${form.tax} error=${errors.tax} onInput=${set('tax')} />
        <${Field} id="tariff-debt" inputmode="decimal" dir="ltr" label=${t('tariffs.debt')} value=${form.debt} error=${errors.debt} onInput=${set('debt')} />
      </div>
      <label class="check" for="tariff-subsidised">
        <input id="tariff-subsidised" type="checkbox" checked=${form.subsidised} onChange=${set('subsidised')} />
        ${t('tariffs.subsidised')}
      </label>
      <fieldset class="scheme">
        <legend>${t('tariffs.scheme')}</legend>
        <label class="check" for="tariff-scheme-blocks"><input id="tariff-scheme-blocks" type="radio" name="scheme" value="blocks" checked=${scheme === 'blocks'} onChange=${() => setScheme('blocks')} /> ${t('tariffs.schemeBlocks')}</label>
        <label class="check" for="tariff-scheme-tou"><input id="tariff-scheme-tou" type="radio" name="scheme" value="tou" checked=${scheme === 'tou'} onChange=${() => setScheme('tou')} /> ${t('tariffs.schemeTou')}</label>
      </fieldset>
      ${scheme === 'tou' ? html`<${TouEditor} seasons=${seasons} setSeasons=${setSeasons} errors=${errors} unit=${unit} cur=${cur} />` : null}
      <fieldset class="blocks" hidden=${scheme !== 'blocks'}>
        <legend>${t('tariffs.blocksLegend')}</legend>
        <p class="hint">${t('tariffs.blocksHint', { unit })}</p>
        ${blocks.map(
          (b, i) => html`<div class="block-row" data-testid="block-row">
            <${Field}
              id=${`block-upto-${i}`}
              inputmode="numeric"
              dir="ltr"
              label=${t('tariffs.upTo', { n: num(i + 1), unit })}
              value=${b.upTo}
              error=${errors[`upTo${i}`]}
              onInput=${(e) => setBlocks(blocks.map((x, j) => (j === i ? { ...x, upTo: e.currentTarget.value } : x)))}
            />
            <${Field}
              id=${`block-price-${i}`}
              inputmode="decimal"
              dir="ltr"
              label=${t('tariffs.price', { n: num(i + 1), unit, currency: cur })}
              value=${b.price}
              error=${errors[`price${i}`]}
              onInput=${(e) => setBlocks(blocks.map((x, j) => (j === i ? { ...x, price: e.currentTarget.value } : x)))}
            />
            ${
              blocks.length > 1
                ? html`<button type="button" class="link" onClick=${() => setBlocks(blocks.filter((_, j) => j !== i))}>
                    ${t('tariffs.removeBlock', { n: num(i + 1) })}
                  </button>`
                : null
            }
          </div>`,
        )}
        <button type="button" onClick=${() => setBlocks([...blocks, { ...EMPTY_BLOCK }])} disabled=${blocks.length >= 20}>
          ${t('tariffs.addBlock')}
        </button>
      </fieldset>
      <${Alert}>${saveError}<//>
      <${Alert} kind="ok">${created ? t('tariffs.created', { code: created.code, version: num(created.version) }) : null}<//>
      <${Submit} busy=${busy}>${t('tariffs.create')}<//>
    </form>
  <//>`;
}

/** The time-of-use part of the tariff form: seasons (date ranges), each with its periods and prices. */
function TouEditor({ seasons, setSeasons, errors, unit, cur }) {
  const setSeason = (si, patch) => setSeasons(seasons.map((z, j) => (j === si ? { ...z, ...patch } : z)));
  const setPeriod = (si, pi, patch) =>
    setSeason(si, { periods: seasons[si].periods.map((p, j) => (j === pi ? { ...p, ...patch } : p)) });
  const value = (e) => e.currentTarget.value;
  return html`<fieldset class="tou" data-testid="tou-editor">
    <legend>${t('tariffs.touLegend')}</legend>
    <p class="hint">${t('tariffs.touHint')}</p>
    ${seasons.map(
      (z, si) => html`<fieldset class="season" data-testid="season">
        <legend>${t('tariffs.season', { n: num(si + 1) })}</legend>
        <div class="grid-fields">
          <${Field} id=${`season-name-${si}`} label=${t('tariffs.seasonName')} value=${z.name} error=${errors[`season${si}`]} onInput=${(e) => setSeason(si, { name: value(e) })} />
          <${Field} id=${`season-from-${si}`} dir="ltr" label=${t('tariffs.seasonFrom')} value=${z.from} error=${errors[`seasonDays${si}`]} onInput=${(e) => setSeason(si, { from: value(e) })} />
          <${Field} id=${`season-to-${si}`} dir="ltr" label=${t('tariffs.seasonTo')} value=${z.to} onInput=${(e) => setSeason(si, { to: value(e) })} />
        </div>
        ${z.periods.map((p, pi) => {
          const key = `${si}-${pi}`;
          return html`<div class="block-row" data-testid="period-row">
            <${Field} id=${`period-name-${key}`} label=${t('tariffs.periodName', { n: num(pi + 1) })} value=${p.name} error=${errors[`periodName${key}`]} onInput=${(e) => setPeriod(si, pi, { name: value(e) })} />
            <div class="field">
              <label for=${`period-days-${key}`}>${t('tariffs.periodDays')}</label>
              <select id=${`period-days-${key}`} value=${p.days} onChange=${(e) => setPeriod(si, pi, { days: value(e) })}>
                <option value="all">${t('tariffs.days.all')}</option>
                <option value="weekday">${t('tariffs.days.weekday')}</option>
                <option value="weekend">${t('tariffs.days.weekend')}</option>
              </select>
            </div>
            <${Field} id=${`period-from-${key}`} inputmode="numeric" dir="ltr" label=${t('tariffs.fromHour')} value=${p.fromHour} error=${errors[`hours${key}`]} onInput=${(e) => setPeriod(si, pi, { fromHour: value(e) })} />
            <${Field} id=${`period-to-${key}`} inputmode="numeric" dir="ltr" label=${t('tariffs.toHour')} value=${p.toHour} onInput=${(e) => setPeriod(si, pi, { toHour: value(e) })} />
            <${Field} id=${`period-price-${key}`} inputmode="decimal" dir="ltr" label=${t('tariffs.periodPrice', { unit, currency: cur })} value=${p.price} error=${errors[`periodPrice${key}`]} onInput=${(e) => setPeriod(si, pi, { price: value(e) })} />
            ${
              z.periods.length > 1
                ? html`<button type="button" class="link" onClick=${() => setSeason(si, { periods: z.periods.filter((_, j) => j !== pi) })}>
                    ${t('tariffs.removePeriod', { n: num(pi + 1) })}
                  </button>`
                : null
            }
          </div>`;
        })}
        <button type="button" onClick=${() => setSeason(si, { periods: [...z.periods, { ...EMPTY_PERIOD }] })} disabled=${z.periods.length >= 48}>
          ${t('tariffs.addPeriod')}
        </button>
        ${
          seasons.length > 1
            ? html`<button type="button" class="link" onClick=${() => setSeasons(seasons.filter((_, j) => j !== si))}>
                ${t('tariffs.removeSeason', { n: num(si + 1) })}
              </button>`
            : null
        }
      </fieldset>`,
    )}
    <button type="button" onClick=${() => setSeasons([...seasons, structuredClone(EMPTY_SEASON)])} disabled=${seasons.length >= 12}>
      ${t('tariffs.addSeason')}
    </button>
  </fieldset>`;
}

/** Vendors with their float; a vendor's kiosks, and a new kiosk whose key is shown this once. */
function Vendors({ who }) {
  const { data, error } = useApi('/api/v1/vendors');
  const [vendor, setVendor] = useState(null);
  const kiosks = useApi(vendor ? `/api/v1/vendors/${vendor.id}/kiosks` : '/api/v1/vendors', [vendor?.id]);
  const [name, setName] = useState('');
  const [nameError, setNameError] = useState(null);
  const { busy, error: createError, run } = useTask();
  const [created, setCreated] = useState(null);

  async function createKiosk(e) {
    e.preventDefault();
    if (!name.trim()) return setNameError(t('vendors.kioskNameRequired'));
    setNameError(null);
    await run(() => api('POST', `/api/v1/vendors/${vendor.id}/kiosks`, { body: { name: name.trim() } }), {
      show: (k) => {
        setCreated(k);
        setName('');
        kiosks.reload();
      },
    });
  }

  return html`<${Screen} name="vendors" title=${t('vendors.title')} wide>
    <${Alert}>${error}<//>
    ${
      data
        ? html`<${SimpleTable}
          caption=${t('vendors.title')}
          testid="vendor-table"
          rows=${data.vendors ?? []}
          cols=${[
            [t('vendors.name'), (x) => x.name],
            [
              t('kiosk.float'),
              (x) =>
                html`<${Money} value=${formatMinor(x.floatMinor, who.utility.exponent)} currency=${who.utility.currency} />`,
              'n',
            ],
            [
              t('vendors.creditLimit'),
              (x) =>
                html`<${Money} value=${formatMinor(x.creditLimitMinor, who.utility.exponent)} currency=${who.utility.currency} />`,
              'n',
            ],
            [
              t('vendors.commission'),
              (x) => html`<bdi dir="ltr">${num(formatMinor(String(x.commissionBp), 2))}%</bdi>`,
              'n',
            ],
            [t('vendors.active'), (x) => (x.active ? t('common.yes') : t('common.no'))],
            [
              t('vendors.kiosks'),
              (x) => html`<button
                type="button"
                aria-pressed=${vendor?.id === x.id ? 'true' : 'false'}
                onClick=${() => {
                  setVendor(x);
                  setCreated(null);
                }}
              >
                ${t('vendors.showKiosks', { name: x.name })}
              </button>`,
            ],
          ]}
        />`
        : null
    }
    ${
      vendor
        ? html`<section aria-labelledby="kiosks-title">
            <h2 id="kiosks-title">${t('vendors.kiosksOf', { name: vendor.name })}</h2>
            <${Alert}>${kiosks.error}<//>
            ${
              kiosks.data?.kiosks
                ? html`<${SimpleTable}
                    caption=${t('vendors.kiosks')}
                    testid="kiosk-table"
                    rows=${kiosks.data.kiosks}
                    cols=${[
                      [t('vendors.kioskName'), (k) => k.name],
                      [t('vendors.active'), (k) => (k.active ? t('common.yes') : t('common.no'))],
                      [t('vendors.since'), (k) => dateTime(k.createdAt)],
                    ]}
                  />`
                : null
            }
            ${
              created
                ? html`<div class="alert info key-once" role="status" data-testid="kiosk-key">
                    <p><strong>${t('vendors.keyOnce', { name: created.name })}</strong></p>
                    <p><code dir="ltr" class="mono">${created.apiKey}</code></p>
                    <button type="button" onClick=${() => navigator.clipboard?.writeText(created.apiKey)}>${t('vendors.copy')}</button>
                  </div>`
                : null
            }
            <form class="inline" onSubmit=${createKiosk} novalidate>
              <${Field} id="kiosk-name" label=${t('vendors.newKiosk')} value=${name} error=${nameError} onInput=${(e) => setName(e.currentTarget.value)} />
              <button type="submit" disabled=${busy}>${t('vendors.createKiosk')}</button>
            </form>
            <${Alert}>${createError}<//>
          </section>`
        : null
    }
  <//>`;
}

const AUDIT_FILTERS = ['action', 'actor', 'subject', 'from', 'to'];

/** The audit log with filters (action with a trailing .*, actor, subject, a period); older pages on demand. */
function Audit({ query, navigate }) {
  const [form, setForm] = useState(Object.fromEntries(AUDIT_FILTERS.map((k) => [k, query.get(k) ?? ''])));
  const params = new URLSearchParams();
  for (const k of AUDIT_FILTERS) if (query.get(k)) params.set(k, query.get(k));
  params.set('limit', '100');
  const { data, error } = useApi(`/api/v1/audit?${params}`);
  const [older, setOlder] = useState({ entries: [], next: undefined });
  const [moreError, setMoreError] = useState(null);
  useEffect(() => setOlder({ entries: [], next: undefined }), [query.toString()]);
  const next = older.next === undefined ? data?.next : older.next;

  async function more() {
    setMoreError(null);
    try {
      const page = await api('GET', `/api/v1/audit?${params}&before=${next}`);
      setOlder({ entries: [...older.entries, ...page.entries], next: page.next });
    } catch (err) {
      setMoreError(problemText(err));
    }
  }

  function apply(e) {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const k of AUDIT_FILTERS) if (form[k].trim()) q.set(k, form[k].trim());
    navigate(`/ops/audit${q.size ? `?${q}` : ''}`);
  }

  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  return html`<${Screen} name="audit" title=${t('audit.title')} wide>
    <form class="audit-filters" onSubmit=${apply} novalidate aria-label=${t('common.filter')}>
      <${Field} id="audit-action" dir="ltr" label=${t('audit.action')} hint=${t('audit.actionHint')} value=${form.action} onInput=${set('action')} />
      <${Field} id="audit-actor" dir="ltr" label=${t('audit.actor')} hint=${t('audit.actorHint')} value=${form.actor} onInput=${set('actor')} />
      <${Field} id="audit-subject" dir="ltr" label=${t('audit.subject')} hint=${t('audit.subjectHint')} value=${form.subject} onInput=${set('subject')} />
      <${Field} id="audit-from" type="date" dir="ltr" label=${t('reports.from')} value=${form.from} onInput=${set('from')} />
      <${Field} id="audit-to" type="date" dir="ltr" label=${t('audit.before')} value=${form.to} onInput=${set('to')} />
      <div class="actions">
        <button type="submit">${t('common.filter')}</button>
        <button type="button" class="link" onClick=${() => navigate('/ops/audit')}>${t('audit.clear')}</button>
      </div>
    </form>
    <${Alert}>${error || moreError}<//>
    ${
      data
        ? html`<${SimpleTable}
          caption=${t('audit.title')}
          testid="audit-table"
          rows=${[...data.entries, ...older.entries]}
          cols=${[
            [t('meter.at'), (x) => dateTime(x.at)],
            [t('audit.actor'), (x) => html`<bdi dir="ltr">${x.actor}</bdi>`],
            [t('audit.action'), (x) => html`<bdi dir="ltr">${x.action}</bdi>`],
            [t('audit.subject'), (x) => html`<bdi dir="ltr" class="subject">${x.subject}</bdi>`],
            [
              t('audit.details'),
              (x) =>
                html`<bdi dir="ltr" class="details">${Object.keys(x.details).length ? JSON.stringify(x.details) : '—'}</bdi>`,
            ],
          ]}
        />
          ${next ? html`<div class="actions"><button type="button" onClick=${more}>${t('common.more')}</button></div>` : null}`
        : null
    }
  <//>`;
}

const TRANSFER_REASONS = ['death', 'inheritance', 'sale', 'tenancy', 'correction', 'other'];

/**
 * The transfer of an account to a new holder (an heir): find the account, find the new holder, the reason and
 * the evidence, the eligibility as Rasid sees it (subsidy, who is told), a confirmation, then the result.
 */
function Transfer() {
  const [number, setNumber] = useState('');
  const [account, setAccount] = useState(null);
  const [q, setQ] = useState('');
  const [people, setPeople] = useState(null);
  const [heir, setHeir] = useState(null);
  const [reason, setReason] = useState('death');
  const [evidence, setEvidence] = useState('');
  const [note, setNote] = useState('');
  const [check, setCheck] = useState(null);
  const [confirming, setConfirming] = useState(false);
  const [done, setDone] = useState(null);
  const {
    busy,
    error,
    setError,
    run: guard,
  } = useTask((err) => (err instanceof ApiError ? problemText(err) : err.message));
  const [evidenceError, setEvidenceError] = useState(null);

  const findAccount = (e) => {
    e.preventDefault();
    guard(async () => {
      setAccount(null);
      setCheck(null);
      setDone(null);
      const list = await api('GET', `/api/v1/accounts?number=${encodeURIComponent(number.trim())}`);
      if (!list.accounts[0]) throw new Error(t('transfer.noAccount'));
      setAccount(await api('GET', `/api/v1/accounts/${list.accounts[0].id}`));
    });
  };

  const findPeople = (e) => {
    e.preventDefault();
    guard(async () => {
      const r = await api('GET', `/api/v1/customers?q=${encodeURIComponent(q.trim())}&limit=20`);
      setPeople(r.customers.filter((c) => c.id !== account.customer.id));
    });
  };

  // The eligibility follows the new holder and the reason.
  useEffect(() => {
    setCheck(null);
    if (!account || !heir) return;
    let live = true;
    api('GET', `/api/v1/accounts/${account.id}/transfer-check?customerId=${heir.id}&reason=${reason}`).then(
      (c) => live && setCheck(c),
      (err) => live && setError(problemText(err)),
    );
    return () => {
      live = false;
    };
  }, [account?.id, heir?.id, reason]);

  function review(e) {
    e.preventDefault();
    if (!evidence.trim()) return setEvidenceError(t('transfer.evidenceRequired'));
    setEvidenceError(null);
    setConfirming(true);
  }

  const transfer = () =>
    guard(async () => {
      const r = await api('POST', `/api/v1/accounts/${account.id}/transfer`, {
        body: {
          customerId: heir.id,
          reason,
          evidenceRef: evidence.trim(),
          ...(note.trim() ? { note: note.trim() } : {}),
        },
      });
      setConfirming(false);
      setDone(r.transfer);
      setAccount(r.account);
    });

  const yesNo = (v) => (v ? t('common.yes') : t('common.no'));
  return html`<${Screen} name="transfer" title=${t('transfer.title')} wide>
    <p class="lead">${t('transfer.lead')}</p>
    <form class="inline" role="search" onSubmit=${findAccount} novalidate>
      <div class="field">
        <label for="transfer-account">${t('transfer.accountNumber')}</label>
        <input id="transfer-account" dir="ltr" value=${number} onInput=${(e) => setNumber(e.currentTarget.value)} />
      </div>
      <button type="submit" disabled=${busy}>${t('common.search')}</button>
    </form>
    <${Alert}>${error}<//>
    ${
      account
        ? html`<dl class="facts" data-testid="transfer-account-facts">
            <div><dt>${t('receipt.account')}</dt><dd><bdi dir="ltr">${account.number}</bdi> · ${t(`transfer.accountStatus.${account.status}`)}</dd></div>
            <div><dt>${t('transfer.holder')}</dt><dd data-testid="holder"><bdi>${account.customer.name}</bdi></dd></div>
            <div><dt>${t('transfer.premise')}</dt><dd><bdi>${account.premise.address}</bdi>${account.premise.area ? html` · <bdi>${account.premise.area}</bdi>` : ''}</dd></div>
            <div><dt>${t('transfer.subsidy')}</dt><dd>${yesNo(account.subsidyEligible)}</dd></div>
            <div><dt>${t('meter.credit')}</dt><dd><${Money} value=${account.balance} currency=${account.currency} /></dd></div>
            <div><dt>${t('fleet.meters')}</dt><dd><bdi dir="ltr">${account.meters.map((m) => m.serial).join(', ') || '—'}</bdi></dd></div>
          </dl>`
        : null
    }
    ${
      account && done
        ? html`<section class="alert ok" role="status" data-testid="transfer-done" aria-labelledby="transfer-done-title">
            <h2 id="transfer-done-title">${t('transfer.done', { name: account.customer.name })}</h2>
            <ul>
              <li>${done.subsidyCarried ? t('transfer.subsidyCarried') : t('transfer.subsidyNotCarried')}</li>
              <li>${done.notified ? t('transfer.notified') : t('transfer.notNotified')}</li>
            </ul>
          </section>
          <${SimpleTable}
            caption=${t('transfer.history')}
            testid="holder-history"
            rows=${account.holders}
            cols=${[
              [t('transfer.holder'), (h) => html`<bdi>${h.customerName}</bdi>`],
              [t('common.from'), (h) => dateTime(h.fromAt)],
              [t('common.to'), (h) => (h.toAt ? dateTime(h.toAt) : '—')],
              [t('transfer.reason'), (h) => t(`transfer.reason.${h.reason}`)],
              [t('transfer.evidence'), (h) => html`<bdi dir="ltr">${h.evidenceRef ?? '—'}</bdi>`],
            ]}
          />`
        : null
    }
    ${
      account && !done
        ? html`<h2>${t('transfer.newHolder')}</h2>
          <form class="inline" role="search" onSubmit=${findPeople} novalidate>
            <div class="field">
              <label for="transfer-person">${t('transfer.findPerson')}</label>
              <input id="transfer-person" value=${q} onInput=${(e) => setQ(e.currentTarget.value)} />
            </div>
            <button type="submit" disabled=${busy}>${t('common.search')}</button>
          </form>
          ${
            people
              ? html`<fieldset class="people">
                  <legend>${t('transfer.choose')}</legend>
                  ${people.length === 0 ? html`<p>${t('common.none')}</p>` : null}
                  ${people.map(
                    (c) => html`<label class="check" for=${`heir-${c.id}`}>
                      <input id=${`heir-${c.id}`} type="radio" name="heir" checked=${heir?.id === c.id} onChange=${() => setHeir(c)} />
                      <bdi>${c.name}</bdi>
                      ${c.phone ? html`<span class="hint"><bdi dir="ltr">${c.phone}</bdi></span>` : null}
                    </label>`,
                  )}
                </fieldset>`
              : null
          }
          ${
            heir
              ? html`<form onSubmit=${review} novalidate>
                  <div class="field">
                    <label for="transfer-reason">${t('transfer.reason')}</label>
                    <select id="transfer-reason" value=${reason} onChange=${(e) => setReason(e.currentTarget.value)}>
                      ${TRANSFER_REASONS.map((r) => html`<option value=${r}>${t(`transfer.reason.${r}`)}</option>`)}
                    </select>
                  </div>
                  <${Field}
                    id="transfer-evidence"
                    label=${t('transfer.evidence')}
                    hint=${t('transfer.evidenceHint')}
                    value=${evidence}
                    error=${evidenceError}
                    onInput=${(e) => setEvidence(e.currentTarget.value)}
                  />
                  <div class="field">
                    <label for="transfer-note">${t('transfer.note')}</label>
                    <textarea id="transfer-note" rows="2" value=${note} onInput=${(e) => setNote(e.currentTarget.value)}></textarea>
                  </div>
                  ${
                    check
                      ? html`<section class="eligibility" aria-labelledby="eligibility-title" data-testid="eligibility">
                          <h3 id="eligibility-title">${t('transfer.eligibility')}</h3>
                          <ul>
                            <li class=${check.allowed ? 'ok' : 'bad'}>
                              ${check.allowed ? t('transfer.allowed') : t(`transfer.refusal.${check.refusal}`)}
                            </li>
                            <li data-testid="eligibility-subsidy">
                              ${
                                !check.subsidy.eligible
                                  ? t('transfer.noSubsidy')
                                  : check.subsidy.carries
                                    ? t('transfer.subsidyWillCarry')
                                    : !check.subsidy.inheritance
                                      ? t('transfer.subsidyEndsReason')
                                      : t('transfer.subsidyEndsOther')
                              }
                            </li>
                            <li>${check.notify ? t(`transfer.notify.${check.notify.channel}`) : t('transfer.notifyNone')}</li>
                          </ul>
                        </section>`
                      : html`<p role="status">${t('common.loading')}</p>`
                  }
                  <${Submit} busy=${busy} disabled=${!check?.allowed}>${t('transfer.review')}<//>
                </form>
                <${Confirm}
                  id="transfer-confirm"
                  open=${confirming}
                  title=${t('transfer.confirmTitle', { number: account.number, name: heir.name })}
                  busy=${busy}
                  onConfirm=${transfer}
                  onCancel=${() => setConfirming(false)}
                >
                  <p>${t('transfer.confirmText', { reason: t(`transfer.reason.${reason}`), evidence: evidence.trim() })}</p>
                  <${Alert}>${error}<//>
                <//>`
              : null
          }`
        : null
    }
  <//>`;
}

const OPEN_STATUSES = 'open,in_progress,waiting_customer';

function Cases({ query, navigate }) {
  const status = query.get('status') ?? OPEN_STATUSES;
  const { data, error } = useApi(`/api/v1/cases?status=${encodeURIComponent(status)}`);
  return html`<${Screen} name="cases" title=${t('cases.title')} wide>
    <p><a class="button primary" href="/#/service/cases/new" data-testid="new-case">${t('cases.new')}</a></p>
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
          empty=${t('cases.none')}
          rows=${data.cases}
          cols=${[
            [
              t('cases.number'),
              (c) => html`<a href=${`/#/service/cases/${c.id}`}><bdi dir="ltr">${c.number}</bdi></a>`,
            ],
            [t('cases.subject'), (c) => c.subject],
            [t('cases.category'), (c) => categoryLabel(c.category)],
            [t('cases.status'), (c) => html`<span class="badge">${t(`status.${c.status}`)}</span>`],
            [t('cases.assignee'), (c) => (c.assignee ? html`<bdi>${c.assignee.name}</bdi>` : '—')],
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

const CASE_CHANNELS = ['phone', 'walk_in', 'email', 'sms', 'chat', 'whatsapp', 'national'];

/** The staff a case can go to, "me" first: options of a <select> whose empty value means nobody. */
function AssigneeOptions({ staff }) {
  return html`<option value="">${t('cases.nobody')}</option>
    <option value="me">${t('cases.me')}</option>
    ${(staff ?? [])
      .filter((u) => !u.self)
      .map((u) => html`<option value=${u.id}>${u.name} (${t(`role.${u.role}`)})</option>`)}`;
}

/**
 * A case opened by an agent for a customer who called, came in, wrote or texted: the channel, the category,
 * the customer found by meter serial, account number or name (their account and meter come with them), the
 * subject and description, and who works it.
 */
function CaseNew({ navigate, query }) {
  const staff = useApi('/api/v1/staff');
  const cats = useApi('/api/v1/case-categories');
  // From the screen pop: the caller's customer (and account) and number come with the link; channel phone.
  const caller = query?.get('caller') ?? '';
  const fromPop = query?.get('customer')
    ? {
        id: null,
        customer: { id: query.get('customer'), name: query.get('name') ?? '' },
        account: query.get('account') ? { id: query.get('account'), number: '' } : null,
        serial: '',
      }
    : null;
  const [form, setForm] = useState({
    channel: 'phone',
    category: 'complaint',
    subject: '',
    description: '',
    assignee: 'me',
    externalRef: '',
  });
  const [q, setQ] = useState('');
  const [found, setFound] = useState(null);
  const [picked, setPicked] = useState(fromPop);
  const [errors, setErrors] = useState({});
  const { busy, error: failure, setError: setFailure, run } = useTask();
  const set = (key) => (e) => setForm({ ...form, [key]: e.currentTarget.value });

  async function search(e) {
    e.preventDefault();
    setFailure(null);
    if (!q.trim()) return;
    try {
      const res = await api('GET', `/api/v1/fleet/meters?q=${encodeURIComponent(q.trim())}&limit=10`);
      setFound(res.meters.filter((m) => m.customer));
    } catch (err) {
      setFailure(problemText(err));
    }
  }

  async function open(e) {
    e.preventDefault();
    const errs = {};
    if (!picked) errs.customer = t('cases.pickCustomer');
    if (!form.subject.trim()) errs.subject = t('cases.subjectRequired');
    if (form.channel === 'national' && !form.externalRef.trim())
      errs.externalRef = t('cases.externalRefRequired');
    setErrors(errs);
    if (Object.keys(errs).length > 0) return;
    // Opening takes an id: "me" is the signed-in user's own row of the staff list.
    const assigneeId = form.assignee === 'me' ? staff.data?.users.find((u) => u.self)?.id : form.assignee;
    await run(
      () =>
        api('POST', '/api/v1/cases', {
          body: {
            channel: form.channel,
            category: form.category,
            subject: form.subject.trim(),
            description: form.description.trim(),
            customerId: picked.customer.id,
            ...(picked.account ? { accountId: picked.account.id } : {}),
            ...(picked.id ? { meterId: picked.id } : {}),
            ...(assigneeId ? { assigneeId } : {}),
            ...(form.channel === 'national' ? { externalRef: form.externalRef.trim() } : {}),
            ...(caller && /^\+?\d{3,20}$/.test(caller) ? { callerNumber: caller } : {}),
          },
        }),
      { show: (created) => navigate(`/service/cases/${created.id}`) },
    );
  }

  return html`<${Screen} name="case-new" title=${t('cases.new')}>
    <p><a href="/#/service/cases">${t('cases.back')}</a></p>
    ${
      fromPop
        ? html`<p role="status" data-testid="case-caller">${t('cases.forCaller', { name: `\u2068${fromPop.customer.name}\u2069`, number: `\u2066${num(caller)}\u2069` })}</p>`
        : null
    }
    <form class="inline" role="search" onSubmit=${search} novalidate>
      <div class="field">
        <label for="case-find">${t('cases.find')}</label>
        <input id="case-find" type="search" value=${q} onInput=${(e) => setQ(e.currentTarget.value)} />
      </div>
      <button type="submit">${t('common.search')}</button>
    </form>
    ${
      found
        ? found.length === 0
          ? html`<p role="status">${t('cases.noCustomer')}</p>`
          : html`<fieldset class="choices" data-testid="case-customers">
              <legend>${t('cases.customer')}</legend>
              ${found.map(
                (m) => html`<label class="check" for=${`case-customer-${m.id}`}>
                  <input
                    id=${`case-customer-${m.id}`}
                    type="radio"
                    name="case-customer"
                    value=${m.id}
                    checked=${picked?.id === m.id}
                    onChange=${() => {
                      setPicked(m);
                      setErrors({ ...errors, customer: undefined });
                    }}
                  />
                  <bdi>${m.customer.name}</bdi> · <bdi dir="ltr">${num(m.account?.number ?? '')}</bdi> ·
                  <bdi dir="ltr">${num(m.serial)}</bdi>
                </label>`,
              )}
            </fieldset>`
        : null
    }
    ${errors.customer ? html`<p class="field-error" role="alert">${errors.customer}</p>` : null}
    <form onSubmit=${open} novalidate>
      <div class="field">
        <label for="case-channel">${t('cases.channel')}</label>
        <select id="case-channel" value=${form.channel} onChange=${set('channel')}>
          ${CASE_CHANNELS.map((c) => html`<option value=${c}>${t(`channel.${c}`)}</option>`)}
        </select>
      </div>
      <div class="field">
        <label for="case-category">${t('cases.category')}</label>
        <select id="case-category" value=${form.category} onChange=${set('category')}>
          ${(cats.data?.categories ?? [{ category: 'complaint' }])
            .filter((c) => c.active !== false)
            .map(
              (c) =>
                html`<option value=${c.category}>${categoryLabel(c.category, cats.data?.categories)}</option>`,
            )}
        </select>
      </div>
      ${
        form.channel === 'national'
          ? html`<${Field} id="case-external-ref" dir="ltr" label=${t('cases.externalRef')} value=${form.externalRef} error=${errors.externalRef} maxlength="100" onInput=${set('externalRef')} />`
          : null
      }
      <${Field} id="case-subject" label=${t('cases.subject')} value=${form.subject} error=${errors.subject} maxlength="200" onInput=${set('subject')} />
      <div class="field">
        <label for="case-description">${t('cases.description')}</label>
        <textarea id="case-description" rows="4" value=${form.description} onInput=${set('description')}></textarea>
      </div>
      <div class="field">
        <label for="case-assignee">${t('cases.assignTo')}</label>
        <select id="case-assignee" value=${form.assignee} onChange=${set('assignee')}>
          <${AssigneeOptions} staff=${staff.data?.users} />
        </select>
      </div>
      <${Alert}>${failure ?? staff.error}<//>
      <${Submit} busy=${busy}>${t('cases.openIt')}<//>
    </form>
  <//>`;
}

const NEXT_STATUS = ['in_progress', 'waiting_customer', 'resolved', 'closed'];

/** Sends a technician: the case becomes a work order whose result comes back into it. */
function VisitForm({ caseId, technicians, done }) {
  const [who, setWho] = useState('');
  const [text, setText] = useState('');
  const [notice, setNotice] = useState(null);
  const { busy, error, run } = useTask();
  const send = (e) => {
    e.preventDefault();
    if (!text.trim()) return;
    run(
      () =>
        api('POST', `/api/v1/cases/${caseId}/work-orders`, {
          body: { technicianId: who || null, instructions: text.trim() },
        }),
      {
        show: (w) => {
          setNotice(t('cases.visitSent', { number: `\u2066${w.number}\u2069` }));
          setText('');
          done();
        },
      },
    );
  };
  return html`<form onSubmit=${send} novalidate data-testid="case-visit">
    <h2>${t('cases.visit')}</h2>
    <div class="field">
      <label for="visit-technician">${t('cases.visitTechnician')}</label>
      <select id="visit-technician" value=${who} onChange=${(e) => setWho(e.currentTarget.value)}>
        <option value="">${t('cases.visitAnyone')}</option>
        ${technicians.map((u) => html`<option value=${u.id}>${u.name}</option>`)}
      </select>
    </div>
    <div class="field">
      <label for="visit-instructions">${t('orders.instructions')}</label>
      <textarea id="visit-instructions" rows="2" value=${text} onInput=${(e) => setText(e.currentTarget.value)}></textarea>
    </div>
    ${notice ? html`<p role="status">${notice}</p>` : null}
    <${Alert}>${error}<//>
    <button type="submit" disabled=${busy}>${t('cases.visitSend')}</button>
  </form>`;
}

function CasePage({ params }) {
  const { data, error, reload } = useApi(`/api/v1/cases/${params.id}`);
  const staff = useApi('/api/v1/staff');
  const [status, setStatus] = useState(null);
  const [note, setNote] = useState('');
  const { busy, error: moveError, run } = useTask();
  const [assignee, setAssignee] = useState('me');
  const [assignNotice, setAssignNotice] = useState(null);
  const assignmentText = (id) => {
    const name = staff.data?.users.find((u) => u.id === id)?.name;
    if (id === null) return t('cases.unassigned');
    // A Latin name keeps its place in Arabic text (first-strong isolate).
    return name ? t('cases.assignedTo', { name: `\u2068${name}\u2069` }) : t('caseEvent.assignment');
  };
  // The move goes somewhere else: the case's own status is not offered.
  const nextStatuses = NEXT_STATUS.filter((s) => s !== data?.status);
  const chosen = nextStatuses.includes(status) ? status : nextStatuses[0];

  async function assign(e) {
    e.preventDefault();
    setAssignNotice(null);
    await run(
      () =>
        api('PUT', `/api/v1/cases/${params.id}/assignee`, {
          body: { assigneeId: assignee === '' ? null : assignee },
        }),
      {
        show: (c) => {
          setAssignNotice(
            c.assignee
              ? t('cases.assignedTo', { name: `\u2068${c.assignee.name}\u2069` })
              : t('cases.unassigned'),
          );
          reload();
        },
      },
    );
  }

  async function move(e) {
    e.preventDefault();
    await run(
      () =>
        api('POST', `/api/v1/cases/${params.id}/status`, {
          body: { status: chosen, ...(note.trim() ? { note: note.trim() } : {}) },
        }),
      {
        show: () => {
          setNote('');
          reload();
        },
      },
    );
  }

  const c = data;
  return html`<${Screen} name="case" title=${c ? `${c.number} · ${c.subject}` : t('common.loading')} wide>
    <${Alert}>${error}<//>
    ${
      c
        ? html`<dl class="facts">
            <div><dt>${t('cases.status')}</dt><dd data-testid="case-status">${t(`status.${c.status}`)}</dd></div>
            <div><dt>${t('cases.category')}</dt><dd>${categoryLabel(c.category)}</dd></div>
            ${c.externalRef ? html`<div><dt>${t('cases.externalRef')}</dt><dd><bdi dir="ltr">${c.externalRef}</bdi></dd></div>` : null}
            ${c.department ? html`<div><dt>${t('cases.department')}</dt><dd data-testid="case-department"><bdi>${c.department.name}</bdi></dd></div>` : null}
            ${c.callerNumber ? html`<div><dt>${t('cases.caller')}</dt><dd><bdi dir="ltr">${num(c.callerNumber)}</bdi></dd></div>` : null}
            <div><dt>${t('receipt.customer')}</dt><dd><bdi>${c.customer?.name ?? '—'}</bdi>${c.customer ? html` · <a href=${`/#/service/customers/${c.customer.id}/messages`} data-testid="customer-messages">${t('messages.link')}</a>` : null}</dd></div>
            <div><dt>${t('cases.due')}</dt><dd>${dateTime(c.slaDueAt)}</dd></div>
            <div><dt>${t('cases.channel')}</dt><dd>${t(`channel.${c.channel}`)}</dd></div>
            ${c.meter ? html`<div><dt>${t('receipt.meter')}</dt><dd><a href=${`/#/ops/meters/${c.meter.id}`}><bdi dir="ltr">${num(c.meter.serial)}</bdi></a></dd></div>` : null}
            <div><dt>${t('cases.assignee')}</dt><dd data-testid="case-assignee">${c.assignee ? html`<bdi>${c.assignee.name}</bdi>` : t('cases.nobody')}</dd></div>
          </dl>
          <p dir="auto">${c.description}</p>
          ${
            c.status === 'closed'
              ? null
              : html`<form class="inline case-assign" onSubmit=${assign} novalidate>
                  <div class="field">
                    <label for="case-assign">${t('cases.assignTo')}</label>
                    <select id="case-assign" value=${assignee} onChange=${(e) => setAssignee(e.currentTarget.value)}>
                      <${AssigneeOptions} staff=${staff.data?.users} />
                    </select>
                  </div>
                  <button type="submit" disabled=${busy}>${t('cases.assign')}</button>
                </form>
                <${Alert} kind="ok">${assignNotice}<//>`
          }
          <form class="case-move" onSubmit=${move} novalidate>
            <${StatusSelect} id="case-next" label=${t('cases.moveTo')} value=${chosen} options=${nextStatuses} names="status" onChoose=${setStatus} />
            <div class="field">
              <label for="case-note">${t('cases.note')}</label>
              <textarea id="case-note" rows="3" value=${note} onInput=${(e) => setNote(e.currentTarget.value)}></textarea>
            </div>
            <${Alert}>${moveError}<//>
            <button type="submit" class="primary" disabled=${busy}>${t('cases.update')}</button>
          </form>
          ${
            c.status === 'resolved' || c.status === 'closed'
              ? null
              : html`<${VisitForm} caseId=${c.id} technicians=${(staff.data?.users ?? []).filter((u) => u.role === 'technician')} done=${reload} />`
          }
          <h2>${t('cases.timeline')}</h2>
          <ol class="timeline">
            ${c.events.map(
              (e) => html`<li>
                <span class="hint">${dateTime(e.at)}</span>
                ${
                  e.kind === 'status'
                    ? t('cases.moved', { from: t(`status.${e.fromStatus}`), to: t(`status.${e.toStatus}`) })
                    : e.kind === 'assignment'
                      ? assignmentText(e.assigneeId)
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
  // Fixed once per visit: a new `from` on every render would make a new request on every render.
  const [from] = useState(() => new Date(Date.now() - 30 * 86_400_000).toISOString());
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
  { pattern: /^\/ops\/reports$/, roles: ['operator'], screen: Reports },
  { pattern: /^\/service\/transfer$/, roles: ['operator', 'service'], screen: Transfer },
  { pattern: /^\/service\/cases$/, roles: ['operator', 'service'], screen: Cases },
  { pattern: /^\/service\/cases\/new$/, roles: ['operator', 'service'], screen: CaseNew },
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
      link('/service/pop', 'nav.pop'),
      link('/service/cases', 'nav.cases'),
      link('/service/centre-kpi', 'nav.centreKpi'),
      link('/service/kpi', 'nav.kpi'),
      link('/service/transfer', 'nav.transfer'),
      link('/service/deceased', 'nav.deceased'),
      link('/ops/meters', 'nav.meters'),
      link('/ops/alerts', 'nav.alerts'),
    ];
  }
  if (who.role === 'technician')
    return [
      link('/ops/meters', 'nav.meters'),
      link('/field', 'nav.field'),
      link('/tech/work-orders', 'nav.workOrders'),
      link('/tech/commission', 'nav.commission'),
      link('/ops/alerts', 'nav.alerts'),
    ];
  return [
    link('/ops', 'nav.fleet'),
    link('/ops/meters', 'nav.meters'),
    link('/ops/alerts', 'nav.alerts'),
    link('/ops/reports', 'nav.reports'),
    link('/ops/losses', 'nav.losses'),
    link('/service/pop', 'nav.pop'),
    link('/service/cases', 'nav.cases'),
    link('/service/centre-kpi', 'nav.centreKpi'),
    link('/service/transfer', 'nav.transfer'),
    link('/service/deceased', 'nav.deceased'),
    link('/tech/commission', 'nav.commission'),
    link('/field/campaigns', 'nav.fieldCampaigns'),
    link('/ops/tariffs', 'nav.tariffs'),
    link('/ops/vendors', 'nav.vendors'),
    link('/ops/audit', 'nav.audit'),
    link('/ops/import', 'nav.import'),
    ...(who.role === 'admin' ? [link('/admin/settings', 'nav.settings')] : []),
  ];
}
