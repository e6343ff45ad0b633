/**
 * The technician's commissioning wizard, one screen of steps in order (the same steps as
 * `rasid sim commission`): find or register the meter with its STS parameters, issue its MQTT credentials
 * (shown once) and wait for it to come online, key change tokens (print or push), a key check (Rasid's
 * clear-tamper token accepted by the meter), a test token, the first reading, and the relay test
 * (disconnect then reconnect, each acknowledged). Every command waits for the meter's answer; the report at
 * the end lists what each step found and can be printed.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api } from './api.js';
import { html } from './html.js';
import { currentLang, dateTime, num, problemText, t } from './i18n.js';
import { formatMinor, latinDigits } from './money.js';
import { Alert, Confirm, Money, Screen, Submit, Token, useTask } from './ui.js';

const STEPS = ['meter', 'credentials', 'keyChange', 'keyCheck', 'testToken', 'reading', 'relay', 'activate'];
const PENDING = new Set(['queued', 'sent']);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls a command until the meter answered or it ended (acknowledged, failed, expired); `onState` sees each
 * state. The command's own expiry bounds the wait. `alive()` false stops polling (the screen was left).
 */
export async function waitForCommand(id, onState, alive = () => true) {
  for (;;) {
    const c = await api('GET', `/api/v1/commands/${id}`);
    onState?.(c.state);
    if (!PENDING.has(c.state) || !alive()) return c;
    await sleep(750);
  }
}

/** Queues a command for the meter and waits for its end; throws with the meter's answer unless acknowledged. */
async function command(meterId, kind, payload, reason, onState, alive) {
  const queued = await api('POST', `/api/v1/meters/${meterId}/commands`, { body: { kind, payload, reason } });
  onState?.(queued.state);
  const done = await waitForCommand(queued.id, onState, alive);
  if (done.state !== 'acknowledged') {
    const why = done.result?.message ?? done.result?.code ?? '';
    throw new Error(
      t('tech.commandEnded', { command: t(`command.${kind}`), state: t(`commandState.${done.state}`) }) +
        (why ? ` (${why})` : ''),
    );
  }
  return done;
}

const digits = (v) => latinDigits(v).trim();

/** An API problem in the reader's language; a command the meter did not acknowledge as its own message. */
const errorText = (err) => (err instanceof ApiError ? problemText(err) : err.message);

function StepHead({ n, name, result, current }) {
  const status = result?.status ?? (current ? 'current' : 'waiting');
  return html`<h2 id=${`step-${name}`}>
    <span class="step-n"><bdi dir="ltr">${num(n)}</bdi></span>
    ${t(`tech.step.${name}`)}
    <span class=${`badge ${status === 'ok' ? 'ok' : status === 'failed' ? 'bad' : status === 'skipped' ? 'warn' : ''}`} data-testid=${`step-${name}-status`}>
      ${t(`tech.status.${status}`)}
    </span>
  </h2>`;
}

/** The STS parameters a new meter is registered with; each must be filled in. */
const STS_FIELDS = ['iin', 'drn', 'sgc', 'ti', 'krn', 'kt', 'ea'];

/** "A, B and C" in the reader's language. */
const listOf = (items) => new Intl.ListFormat(currentLang(), { type: 'conjunction' }).format(items);

/** Step 1: find the meter by serial, or register it with its STS parameters. */
function MeterStep({ onDone }) {
  const [serial, setSerial] = useState('');
  const [found, setFound] = useState(undefined);
  const [form, setForm] = useState({
    kind: 'electricity',
    mode: 'token',
    iin: '600727',
    drn: '',
    sgc: '',
    ti: '1',
    krn: '1',
    kt: '2',
    ea: '7',
    baseDate: '2014-01-01',
  });
  const { busy, error, setError, run } = useTask();
  const [invalid, setInvalid] = useState({});
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });

  async function find(e) {
    e.preventDefault();
    const s = serial.trim();
    if (!s) return setError(t('tech.serialRequired'));
    await run(() => api('GET', `/api/v1/meters?serial=${encodeURIComponent(s)}`), {
      show: (r) => setFound(r.meters.find((m) => m.serial === s) ?? null),
    });
  }

  function use(m, registered) {
    if (m.protocol !== 'mqtt') return setError(t('tech.notMqtt', { protocol: m.protocol }));
    onDone(m, t(registered ? 'tech.registered' : 'tech.found', { serial: m.serial }));
  }

  /** Marks the named fields and says which they are, by their labels, in one sentence. */
  function refuse(fields, key) {
    setInvalid(Object.fromEntries(fields.map((k) => [k, t(key, { field: t(`tech.sts.${k}`) })])));
    setError(t('form.checkFields', { fields: listOf(fields.map((k) => t(`tech.sts.${k}`))) }));
  }

  async function register(e) {
    e.preventDefault();
    const n = (k) => Number(digits(form[k]));
    const empty = STS_FIELDS.filter((k) => digits(form[k]).trim() === '');
    if (empty.length > 0) return refuse(empty, 'form.fieldRequired');
    setInvalid({});
    // Registered, the step is done: the button stays busy.
    await run(
      () =>
        api('POST', '/api/v1/meters', {
          body: {
            serial: serial.trim(),
            kind: form.kind,
            protocol: 'mqtt',
            mode: form.mode,
            sts: {
              iin: digits(form.iin),
              drn: digits(form.drn),
              sgc: n('sgc'),
              ti: n('ti'),
              krn: n('krn'),
              kt: n('kt'),
              ea: n('ea'),
              baseDate: form.baseDate,
            },
          },
        }),
      {
        leaves: true,
        show: (m) => use(m, true),
        // The API names the fields it refused (`body.sts.drn`): the form names them by their labels.
        describe: (err) => {
          const named = (err.problem?.issues ?? [])
            .map((i) =>
              String(i.field ?? '')
                .split('.')
                .at(-1),
            )
            .filter((k) => STS_FIELDS.includes(k));
          if (named.length === 0) return problemText(err);
          const fields = [...new Set(named)];
          setInvalid(
            Object.fromEntries(fields.map((k) => [k, t('form.fieldInvalid', { field: t(`tech.sts.${k}`) })])),
          );
          return t('form.checkFields', { fields: listOf(fields.map((k) => t(`tech.sts.${k}`))) });
        },
      },
    );
  }

  const numField = (k, dir = 'ltr') => html`<div class="field">
    <label for=${`sts-${k}`}>${t(`tech.sts.${k}`)}</label>
    <input
      id=${`sts-${k}`}
      inputmode="numeric"
      dir=${dir}
      value=${form[k]}
      onInput=${set(k)}
      aria-invalid=${invalid[k] ? 'true' : undefined}
      aria-describedby=${invalid[k] ? `sts-${k}-error` : undefined}
    />
    ${invalid[k] ? html`<p class="field-error" id=${`sts-${k}-error`}>${invalid[k]}</p>` : null}
  </div>`;

  return html`<form class="inline" role="search" onSubmit=${find} novalidate>
      <div class="field">
        <label for="commission-serial">${t('tech.serial')}</label>
        <input id="commission-serial" dir="ltr" value=${serial} onInput=${(e) => {
          setSerial(e.currentTarget.value);
          setFound(undefined);
        }} />
      </div>
      <button type="submit" disabled=${busy}>${t('tech.find')}</button>
    </form>
    ${
      found
        ? html`<dl class="facts" data-testid="found-meter">
            <div><dt>${t('topup.meter')}</dt><dd><bdi dir="ltr">${found.serial}</bdi></dd></div>
            <div><dt>${t('meter.mode')}</dt><dd>${t(`meter.mode.${found.mode}`)} · ${found.protocol}</dd></div>
            <div><dt>${t('tech.sts.krn')}</dt><dd><bdi dir="ltr">${num(found.sts?.krn ?? '—')}</bdi></dd></div>
            <div><dt>${t('tech.sts.sgc')}</dt><dd><bdi dir="ltr">${num(found.sts?.sgc ?? '—')}</bdi></dd></div>
          </dl>
          <div class="actions"><button type="button" class="primary" onClick=${() => use(found, false)}>${t('tech.useMeter')}</button></div>`
        : null
    }
    ${
      found === null
        ? html`<form onSubmit=${register} novalidate aria-labelledby="register-title">
            <h3 id="register-title">${t('tech.register', { serial: serial.trim() })}</h3>
            <p class="hint">${t('tech.registerHint')}</p>
            <div class="grid-fields">
              <div class="field">
                <label for="meter-kind">${t('topup.kind')}</label>
                <select id="meter-kind" value=${form.kind} onChange=${set('kind')}>
                  <option value="electricity">${t('kind.electricity')}</option>
                  <option value="water">${t('kind.water')}</option>
                </select>
              </div>
              <div class="field">
                <label for="meter-mode">${t('meter.mode')}</label>
                <select id="meter-mode" value=${form.mode} onChange=${set('mode')}>
                  <option value="token">${t('meter.mode.token')}</option>
                  <option value="central">${t('meter.mode.central')}</option>
                </select>
              </div>
              ${numField('iin')} ${numField('drn')} ${numField('sgc')} ${numField('ti')} ${numField('krn')}
              ${numField('kt')} ${numField('ea')}
              <div class="field">
                <label for="sts-baseDate">${t('tech.sts.baseDate')}</label>
                <select id="sts-baseDate" value=${form.baseDate} onChange=${set('baseDate')}>
                  ${['1993-01-01', '2014-01-01', '2035-01-01'].map((d) => html`<option value=${d}>${num(d.slice(0, 4))}</option>`)}
                </select>
              </div>
            </div>
            <${Submit} busy=${busy}>${t('tech.registerButton')}<//>
          </form>`
        : null
    }
    <${Alert}>${error}<//>`;
}

/** Step 2: MQTT credentials, shown this once, then the wait until Rasid sees the meter online. */
function CredentialsStep({ meter, onDone, alive }) {
  const [creds, setCreds] = useState(null);
  const { busy, error, setError, run } = useTask();
  // An active meter that is online now works with its present password: new credentials cut it off.
  const [inService, setInService] = useState(meter.status === 'active' ? null : false);
  const [confirming, setConfirming] = useState(false);

  useEffect(() => {
    if (meter.status !== 'active') return;
    let live = true;
    api('GET', `/api/v1/meters/${meter.id}/status`).then(
      (s) => live && setInService(s.online),
      () => live && setInService(false),
    );
    return () => {
      live = false;
    };
  }, [meter.id]);

  const issue = () =>
    run(() => api('POST', `/api/v1/meters/${meter.id}/mqtt-credentials`), {
      show: (c) => {
        setCreds(c);
        setConfirming(false);
      },
    });

  useEffect(() => {
    if (!creds) return;
    let live = true;
    (async () => {
      while (live && alive()) {
        try {
          const s = await api('GET', `/api/v1/meters/${meter.id}/status`);
          if (s.online) {
            onDone(t('tech.online', { username: creds.username }));
            return;
          }
        } catch (err) {
          setError(problemText(err));
        }
        await sleep(1000);
      }
    })();
    return () => {
      live = false;
    };
  }, [creds]);

  if (!creds) {
    return html`<p>${t('tech.credentialsHint')}</p>
      ${inService ? html`<div class="alert warn" role="note" data-testid="in-service">${t('tech.inServiceWarning', { serial: meter.serial })}</div>` : null}
      <div class="actions">
        <button
          type="button"
          class=${inService ? 'danger' : 'primary'}
          disabled=${busy || inService === null}
          onClick=${() => (inService ? setConfirming(true) : issue())}
        >
          ${t('tech.issueCredentials')}
        </button>
      </div>
      <${Confirm}
        id="credentials-confirm"
        open=${confirming}
        title=${t('tech.inServiceTitle', { serial: meter.serial })}
        busy=${busy}
        onConfirm=${issue}
        onCancel=${() => setConfirming(false)}
      >
        <p>${t('tech.inServiceWarning', { serial: meter.serial })}</p>
        <${Alert}>${error}<//>
      <//>
      <${Alert}>${confirming ? null : error}<//>`;
  }
  const row = (key, value, testid) =>
    html`<div><dt>${t(key)}</dt><dd><code dir="ltr" class="mono" data-testid=${testid}>${value ?? '—'}</code></dd></div>`;
  return html`<div class="alert info" role="note">${t('tech.shownOnce')}</div>
    <dl class="facts secret">
      ${row('tech.mqtt.username', creds.username, 'mqtt-username')}
      ${row('tech.mqtt.password', creds.password, 'mqtt-password')}
      ${row('tech.mqtt.clientId', creds.clientId, 'mqtt-client-id')}
      ${row('tech.mqtt.broker', creds.brokerUrl, 'mqtt-broker')}
      ${row('tech.mqtt.topic', creds.topicRoot, 'mqtt-topic')}
    </dl>
    <p role="status" class="waiting">${t('tech.waitingOnline')}</p>
    <${Alert}>${error}<//>`;
}

/**
 * Tokens on screen with print and push. Push sends one `token` command per token, in order, each waiting for
 * the meter's answer before the next. `onDone(detail)` when pushed or entered on the keypad.
 */
function TokenPush({ meter, tokens, label, reason, onDone, onFail, alive }) {
  const [states, setStates] = useState(tokens.map(() => null));
  const [confirming, setConfirming] = useState(false);
  const { busy, error, run } = useTask(errorText);

  async function push() {
    setConfirming(false);
    await run(
      async () => {
        for (let i = 0; i < tokens.length; i++) {
          await command(
            meter.id,
            'token',
            { token: tokens[i].replace(/-/g, '') },
            reason,
            (s) => setStates((list) => list.map((x, j) => (j === i ? s : x))),
            alive,
          );
        }
      },
      { show: () => onDone(t('tech.pushed', { n: num(tokens.length) })), failed: onFail },
    );
  }

  return html`${tokens.map(
    (tok, i) => html`<div class="token-row">
      <${Token} grouped=${tok} label=${tokens.length > 1 ? `${label} (${num(i + 1)}/${num(tokens.length)})` : label} />
      ${states[i] ? html`<p><span class="badge" data-testid="token-state">${t(`commandState.${states[i]}`)}</span></p>` : null}
    </div>`,
  )}
    <div class="actions">
      <button type="button" class="primary" disabled=${busy} onClick=${() => setConfirming(true)}>${t('tech.push')}</button>
      <button type="button" onClick=${() => window.print()}>${t('common.print')}</button>
      <button type="button" disabled=${busy} onClick=${() => onDone(t('tech.keyedIn'))}>${t('tech.keyedInButton')}</button>
    </div>
    <${Alert}>${error}<//>
    <${Confirm}
      id="push-confirm"
      open=${confirming}
      title=${t('tech.pushTitle', { serial: meter.serial })}
      busy=${busy}
      onConfirm=${push}
      onCancel=${() => setConfirming(false)}
    >
      <p>${t('tech.pushText', { n: num(tokens.length) })}</p>
    <//>`;
}

/** Issues a token (management, test) with one button, then shows it with print and push. */
function IssueAndPush({ meter, issue, hint, buttonLabel, label, reason, onDone, onFail, alive }) {
  const [tokens, setTokens] = useState(null);
  const { busy, error, run } = useTask();
  if (tokens) {
    return html`<${TokenPush} meter=${meter} tokens=${tokens} label=${label} reason=${reason} onDone=${onDone} onFail=${onFail} alive=${alive} />`;
  }
  return html`<p>${hint}</p>
    <div class="actions"><button type="button" class="primary" disabled=${busy} onClick=${() => run(issue, { show: setTokens })}>${buttonLabel}</button></div>
    <${Alert}>${error}<//>`;
}

/** Step 3: key change tokens (operators issue them); may be skipped, the meter then keeps its keys. */
function KeyChangeStep({ meter, who, onDone, onSkip, onFail, alive }) {
  const mayIssue = who.role === 'operator' || who.role === 'admin';
  const current = meter.sts?.krn ?? 1;
  const [krn, setKrn] = useState(String(Math.min(9, current + 1)));
  const [tokens, setTokens] = useState(null);
  const { busy, error, run } = useTask();

  async function issue(e) {
    e.preventDefault();
    await run(
      () =>
        api('POST', `/api/v1/meters/${meter.id}/key-change`, {
          body: { newKrn: Number(digits(krn)), reason: 'commissioning' },
        }),
      { show: (r) => setTokens(r.tokensGrouped) },
    );
  }

  if (tokens) {
    return html`<p class="hint">${t('tech.keyChangeOrder')}</p>
      <${TokenPush}
        meter=${meter}
        tokens=${tokens}
        label=${t('tech.keyChangeToken')}
        reason="commissioning key change"
        onDone=${(d) => onDone(`${t('tech.keyChanged', { krn: num(digits(krn)) })} ${d}`)}
        onFail=${onFail}
        alive=${alive}
      />`;
  }
  return html`${
    mayIssue
      ? html`<form class="inline" onSubmit=${issue} novalidate>
          <div class="field">
            <label for="new-krn">${t('tech.newKrn', { krn: num(current) })}</label>
            <input id="new-krn" inputmode="numeric" dir="ltr" value=${krn} onInput=${(e) => setKrn(e.currentTarget.value)} />
          </div>
          <button type="submit" disabled=${busy}>${t('tech.issueKeyChange')}</button>
        </form>`
      : html`<p class="alert info" role="note">${t('tech.keyChangeOperator')}</p>`
  }
    <div class="actions"><button type="button" data-testid="skip-key-change" onClick=${onSkip}>${t('tech.skipKeyChange', { krn: num(current) })}</button></div>
    <${Alert}>${error}<//>`;
}

/** What a reading says: registers, credit and the relay. */
function ReadingFacts({ reading, who }) {
  return html`<dl class="facts" data-testid="first-reading">
          <div><dt>${t('meter.at')}</dt><dd>${dateTime(reading.ts)}</dd></div>
          ${reading.energyWh !== null ? html`<div><dt>${t('tech.energy')}</dt><dd><bdi dir="ltr">${num(formatMinor(reading.energyWh, 3))} kWh</bdi></dd></div>` : null}
          ${reading.volumeL !== null ? html`<div><dt>${t('tech.volume')}</dt><dd><bdi dir="ltr">${num(formatMinor(reading.volumeL, 3))} m³</bdi></dd></div>` : null}
          ${
            reading.creditMinor !== null
              ? html`<div><dt>${t('meter.credit')}</dt><dd><${Money} value=${formatMinor(reading.creditMinor, who.utility.exponent)} currency=${who.utility.currency} /></dd></div>`
              : null
          }
          ${reading.relay !== null ? html`<div><dt>${t('tech.relay')}</dt><dd>${t(reading.relay ? 'tech.relayClosed' : 'tech.relayOpen')}</dd></div>` : null}
</dl>`;
}

/** Step 6: ask for a reading (read_now) and wait until Rasid has stored one. */
function ReadingStep({ meter, who, onDone, onFail, alive }) {
  const [state, setState] = useState(null);
  const [reading, setReading] = useState(null);
  const task = useTask(errorText);
  const { busy, error } = task;

  async function run() {
    await task.run(
      async () => {
        await command(meter.id, 'read_now', {}, 'commissioning first reading', setState, alive);
        for (;;) {
          const r = await api('GET', `/api/v1/meters/${meter.id}/readings?limit=1`);
          if (r.readings[0]) return r.readings[0];
          if (!alive()) return null;
          await sleep(750);
        }
      },
      {
        show: (first) => {
          if (!first) return;
          setReading(first);
          onDone(
            t('tech.readingStored', { at: dateTime(first.ts) }),
            html`<${ReadingFacts} reading=${first} who=${who} />`,
          );
        },
        failed: onFail,
      },
    );
  }

  return html`${
    reading
      ? html`<${ReadingFacts} reading=${reading} who=${who} />`
      : html`<p>${t('tech.readingHint')}</p>
        <div class="actions"><button type="button" class="primary" disabled=${busy} onClick=${run}>${t('tech.askReading')}</button></div>
        ${state ? html`<p role="status">${t('command.read_now')}: ${t(`commandState.${state}`)}</p>` : null}`
  }
    <${Alert}>${error}<//>`;
}

/** Step 7: disconnect then reconnect, each acknowledged by the meter; behind a confirmation. */
function RelayStep({ meter, onDone, onFail, alive }) {
  const [confirming, setConfirming] = useState(false);
  const [states, setStates] = useState({ disconnect: null, reconnect: null });
  const task = useTask(errorText);
  const { busy, error } = task;

  async function run() {
    setConfirming(false);
    await task.run(
      async () => {
        for (const kind of ['disconnect', 'reconnect']) {
          await command(
            meter.id,
            kind,
            { reason: 'test' },
            'commissioning relay test',
            (s) => setStates((x) => ({ ...x, [kind]: s })),
            alive,
          );
        }
      },
      { show: () => onDone(t('tech.relayDone')), failed: onFail },
    );
  }

  return html`<p>${t('tech.relayHint')}</p>
    <ul class="relay-states">
      ${['disconnect', 'reconnect'].map(
        (k) =>
          html`<li>${t(`command.${k}`)}: <span class="badge" data-testid=${`relay-${k}`}>${states[k] ? t(`commandState.${states[k]}`) : '—'}</span></li>`,
      )}
    </ul>
    <div class="actions"><button type="button" class="primary" disabled=${busy} onClick=${() => setConfirming(true)}>${t('tech.runRelay')}</button></div>
    <${Alert}>${error}<//>
    <${Confirm}
      id="relay-confirm"
      open=${confirming}
      title=${t('tech.relayTitle', { serial: meter.serial })}
      busy=${busy}
      onConfirm=${run}
      onCancel=${() => setConfirming(false)}
    >
      <p>${t('tech.relayWarning')}</p>
    <//>`;
}

/**
 * Step 8: the meter moves to installed (commissioned) and then to active, so Rasid charges, alerts and
 * disconnects it; when it cannot be active (no account, no vending key) the step says why.
 */
function ActivateStep({ meter, onDone, onFail }) {
  const task = useTask(errorText);
  const { busy, error } = task;

  async function run() {
    await task.run(
      async () => {
        const m = await api('GET', `/api/v1/meters/${meter.id}`);
        if (m.status === 'active') return t('tech.activeAlready');
        if (m.status === 'registered') {
          await api('POST', `/api/v1/meters/${meter.id}/state`, {
            body: { to: 'installed', reason: 'commissioned' },
          });
        }
        await api('POST', `/api/v1/meters/${meter.id}/state`, {
          body: { to: 'active', reason: 'commissioning complete' },
        });
        return t('tech.activated');
      },
      {
        show: (detail) => onDone(detail),
        failed: (why) => onFail(t('tech.notActivated', { why })),
        describe: (err) => {
          const blocker = err instanceof ApiError ? err.problem?.blocker : null;
          return blocker ? t(`lifecycle.blocker.${blocker}`) : errorText(err);
        },
      },
    );
  }

  return html`<p>${t('tech.activateHint')}</p>
    <div class="actions"><button type="button" class="primary" disabled=${busy} onClick=${run}>${t('tech.activate')}</button></div>
    <${Alert}>${error}<//>`;
}

export function Commission({ who }) {
  const [meter, setMeter] = useState(null);
  const [results, setResults] = useState({});
  const [at, setAt] = useState(0);
  const [run, setRun] = useState(0);
  // Waits stop when the screen is left.
  const left = useRef(false);
  useEffect(
    () => () => {
      left.current = true;
    },
    [],
  );
  const alive = () => !left.current;

  const finish = (name, status, detail, view = null) => {
    setResults((r) => ({ ...r, [name]: { status, detail, view } }));
    setAt((i) => Math.max(i, STEPS.indexOf(name) + 1));
  };
  const ok = (name) => (detail, view) => finish(name, 'ok', detail, view);
  const failed = (name) => (detail) => setResults((r) => ({ ...r, [name]: { status: 'failed', detail } }));
  const moveOn = (name) => () => finish(name, results[name]?.status ?? 'failed', results[name]?.detail ?? '');

  const body = (name) => {
    const common = { meter, who, alive, onFail: failed(name) };
    switch (name) {
      case 'meter':
        return html`<${MeterStep} key=${run} onDone=${(m, detail) => {
          setMeter(m);
          finish('meter', 'ok', detail);
        }} />`;
      case 'credentials':
        return html`<${CredentialsStep} ...${common} onDone=${ok(name)} />`;
      case 'keyChange':
        return html`<${KeyChangeStep}
          ...${common}
          onDone=${ok(name)}
          onSkip=${() => finish(name, 'skipped', t('tech.keptKrn', { krn: num(meter.sts?.krn ?? '—') }))}
        />`;
      case 'keyCheck':
        return html`<${IssueAndPush}
          ...${common}
          hint=${t('tech.keyCheckHint')}
          buttonLabel=${t('tech.issueKeyCheck')}
          label=${t('tech.keyCheckToken')}
          reason="commissioning key check"
          issue=${async () => {
            const r = await api('POST', `/api/v1/meters/${meter.id}/management-tokens`, {
              body: { token: 'clear_tamper', reason: 'commissioning key check' },
            });
            return [r.tokenGrouped];
          }}
          onDone=${ok(name)}
        />`;
      case 'testToken':
        return html`<${IssueAndPush}
          ...${common}
          hint=${t('tech.testTokenHint')}
          buttonLabel=${t('tech.issueTestToken')}
          label=${t('tech.testToken')}
          reason="commissioning test token"
          issue=${async () => [(await api('POST', `/api/v1/meters/${meter.id}/test-token`)).tokenGrouped]}
          onDone=${ok(name)}
        />`;
      case 'reading':
        return html`<${ReadingStep} ...${common} onDone=${ok(name)} />`;
      case 'relay':
        return html`<${RelayStep} ...${common} onDone=${ok(name)} />`;
      case 'activate':
        return html`<${ActivateStep} ...${common} onDone=${ok(name)} />`;
      default:
        return null;
    }
  };

  const done = at >= STEPS.length;
  const failures = STEPS.filter((s) => results[s]?.status === 'failed').length;
  // A skipped step (the key change, say) is not a passed one: the report names it.
  const skipped = STEPS.filter((s) => results[s]?.status === 'skipped');
  return html`<${Screen} name="commission" title=${meter ? t('tech.titleMeter', { serial: meter.serial }) : t('tech.title')} wide>
    <p class="lead no-print">${t('tech.lead')}</p>
    <ol class="wizard">
      ${STEPS.map((name, i) =>
        i > at
          ? null
          : html`<li class=${i === at ? 'current' : 'past'} aria-current=${i === at ? 'step' : undefined} data-step=${name}>
              <${StepHead} n=${i + 1} name=${name} result=${results[name]} current=${i === at} />
              ${i === at ? body(name) : html`<p class="step-detail">${results[name]?.detail}</p>${results[name]?.view}`}
              ${
                i === at && results[name]?.status === 'failed' && name !== 'meter'
                  ? html`<div class="actions"><button type="button" onClick=${moveOn(name)}>${t('tech.continueAnyway')}</button></div>`
                  : null
              }
            </li>`,
      )}
    </ol>
    ${
      done
        ? html`<section class="report" aria-labelledby="report-title" data-testid="commission-report">
            <h2 id="report-title">${t('tech.report', { serial: meter.serial })}</h2>
            <p class=${`verdict ${failures > 0 ? 'bad' : skipped.length > 0 ? 'warn' : 'ok'}`} data-testid="verdict">
              ${
                failures > 0
                  ? t('tech.notCommissioned', { n: num(failures) })
                  : skipped.length > 0
                    ? t('tech.commissionedSkipped', {
                        steps: listOf(skipped.map((s) => t(`tech.step.${s}`))),
                      })
                    : t('tech.commissioned')
              }
            </p>
            <div class="actions">
              <button type="button" onClick=${() => window.print()}>${t('common.print')}</button>
              <button
                type="button"
                onClick=${() => {
                  setMeter(null);
                  setResults({});
                  setAt(0);
                  setRun((n) => n + 1);
                }}
              >
                ${t('tech.another')}
              </button>
            </div>
          </section>`
        : null
    }
  <//>`;
}

export const TECH_ROUTES = [
  { pattern: /^\/tech\/commission$/, roles: ['technician', 'operator'], screen: Commission },
];
