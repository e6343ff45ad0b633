/**
 * A customer's own account: sign in with a one-time code sent to the phone or e-mail the utility holds; my
 * meters with their credit and days left; a meter's consumption per day, week or month (an inline SVG bar
 * chart with the same figures in a table); token and payment history; low-credit alert settings; cases
 * opened and followed. Built on the /api/v1/me and /api/v1/cases routes.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';
import { categoryLabel } from './centre.js';
import { Consumption, Quantity } from './chart.js';
import { html } from './html.js';
import { currentLang, dateTime, num, t } from './i18n.js';
import { formatMinor, latinDigits, parseAmount } from './money.js';
import { Alert, Field, Money, problemTextOr, Screen, Submit, saveBlob, useApi, useTask } from './ui.js';

const Loading = () => html`<p class="loading" role="status">${t('common.loading')}</p>`;

/** "23716100501183194197" → "2371-6100-5011-8319-4197", read left to right. */
function TokenText({ token }) {
  return token
    ? html`<bdi dir="ltr" class="mono">${num(token.replace(/(\d{4})(?=\d)/g, '$1-'))}</bdi>`
    : html`—`;
}

// ---------------------------------------------------------------------------------------------------------
// Sign-in by one-time code

/**
 * Step 1: the phone or e-mail the utility holds; step 2: the 6-digit code sent there. Rasid answers the
 * same whether or not it knows the contact, so the screen says "if", never "we found you".
 */
export function AccountSignIn({ utilities, signIn }) {
  const [utility, setUtility] = useState(utilities[0]?.code ?? '');
  const [contact, setContact] = useState('');
  const [sent, setSent] = useState(null);
  const [code, setCode] = useState('');
  const [notice, setNotice] = useState(null);
  const { busy, error, setError, run } = useTask();
  const codeInput = useRef(null);

  useEffect(() => {
    if (sent) codeInput.current?.focus();
  }, [sent]);

  async function ask(e) {
    e?.preventDefault();
    const value = latinDigits(contact).trim();
    if (value.length < 3) return setError(t('account.contactRequired'));
    setNotice(null);
    await run(
      () =>
        api('POST', '/api/v1/sessions/codes', { body: { utility, contact: value, language: currentLang() } }),
      {
        show: (r) => {
          setSent({ contact: value, channel: r.channel, minutes: Math.round(r.expiresInSeconds / 60) });
          setCode('');
          if (sent) setNotice(t('account.codeResent'));
        },
        describe: problemTextOr(400, t('account.contactInvalid')),
      },
    );
  }

  async function verify(e) {
    e.preventDefault();
    const value = latinDigits(code).replace(/\s/g, '');
    if (!/^\d{6}$/.test(value)) return setError(t('account.codeFormat'));
    await run(
      async () => {
        const s = await api('POST', '/api/v1/sessions/code', {
          body: { utility, contact: sent.contact, code: value },
        });
        await signIn({ kind: 'bearer', token: s.token }, '/account');
      },
      { leaves: true, describe: problemTextOr(401, t('account.codeWrong')) },
    );
  }

  if (!sent) {
    return html`<${Screen} name="account-signin" title=${t('account.signInTitle')}>
      <p class="lead">${t('account.signInLead')}</p>
      <form onSubmit=${ask} novalidate>
        ${
          utilities.length > 1
            ? html`<div class="field">
              <label for="account-utility">${t('topup.utility')}</label>
              <select id="account-utility" value=${utility} onChange=${(e) => setUtility(e.currentTarget.value)}>
                ${utilities.map((u) => html`<option value=${u.code}>${u.name}</option>`)}
              </select>
            </div>`
            : null
        }
        <${Field}
          id="contact"
          label=${t('account.contact')}
          hint=${t('account.contactHint')}
          error=${error}
          value=${contact}
          type="text"
          inputmode="email"
          autocomplete="username"
          spellcheck="false"
          dir="ltr"
          onInput=${(e) => setContact(e.currentTarget.value)}
        />
        <${Submit} busy=${busy}>${t('account.sendCode')}<//>
      </form>
      <p class="hint">${t('account.noAccount')} <a href="/#/">${t('nav.topup')}</a></p>
    <//>`;
  }

  return html`<${Screen} name="account-code" title=${t('account.codeTitle')}>
    <p class="lead" role="status">
      ${t(sent.channel === 'sms' ? 'account.codeSentSms' : 'account.codeSentEmail', { minutes: num(sent.minutes) })}
      ${' '}<bdi dir="ltr">${sent.contact}</bdi>
    </p>
    <${Alert} kind="ok">${notice}<//>
    <form onSubmit=${verify} novalidate>
      <div class="field">
        <label for="otp-code">${t('account.code')}</label>
        <p class="hint" id="otp-code-hint">${t('account.codeHint')}</p>
        <input
          id="otp-code"
          name="otp-code"
          ref=${codeInput}
          class="otp"
          value=${code}
          inputmode="numeric"
          autocomplete="one-time-code"
          maxlength="6"
          dir="ltr"
          aria-invalid=${error ? 'true' : undefined}
          aria-describedby=${error ? 'otp-code-hint otp-code-error' : 'otp-code-hint'}
          onInput=${(e) => setCode(e.currentTarget.value)}
        />
        ${error ? html`<p class="field-error" id="otp-code-error">${error}</p>` : null}
      </div>
      <${Submit} busy=${busy}>${t('auth.signIn')}<//>
    </form>
    <div class="actions">
      <button type="button" onClick=${() => ask()} disabled=${busy}>${t('account.resend')}</button>
      <button
        type="button"
        class="link"
        onClick=${() => {
          setSent(null);
          setError(null);
          setNotice(null);
        }}
      >
        ${t('account.otherContact')}
      </button>
    </div>
  <//>`;
}

// ---------------------------------------------------------------------------------------------------------
// My meters

function DaysLeft({ m }) {
  if (m.daysLeft === null || m.daysLeft === undefined)
    return html`<span class="hint">${t('account.noEstimate')}</span>`;
  const days = Math.max(0, Math.floor(m.daysLeft));
  return html`<span class=${days <= 3 ? 'days low' : 'days'} data-testid="days-left">
    ${t(days === 1 ? 'account.dayLeft' : 'account.daysLeft', { n: num(days) })}
  </span>`;
}

function topUp(who, serial) {
  // The top-up's first screen starts with this meter filled in.
  sessionStorage.setItem('rasid.topup', JSON.stringify({ utility: who.utility, meter: { meter: serial } }));
  location.hash = '#/';
}

export function AccountHome({ who }) {
  const me = useApi('/api/v1/me');
  const meters = useApi('/api/v1/me/meters');
  const name = me.data?.customer.name;
  return html`<${Screen} name="account-home" title=${t('account.metersTitle')}>
    ${name ? html`<p class="lead" data-testid="hello">${t('account.hello')} <bdi>${name}</bdi></p>` : null}
    <${Alert}>${me.error ?? meters.error}<//>
    ${meters.data === null && !meters.error ? html`<${Loading} />` : null}
    ${meters.data?.meters.length === 0 ? html`<p data-testid="empty">${t('account.noMeters')} <a href="/#/">${t('account.topUpByNumber')}</a></p>` : null}
    <ul class="my-meters">
      ${(meters.data?.meters ?? []).map(
        (m) => html`<li class="my-meter" data-testid="my-meter" aria-labelledby=${`meter-${m.id}`}>
          <h2 id=${`meter-${m.id}`}>
            ${t(`kind.${m.kind}`)} · <bdi dir="ltr">${num(m.serial)}</bdi>
          </h2>
          <p class="balance">
            <span class="label">${t('account.credit')}</span>
            <strong data-testid="credit">
              ${m.credit ? html`<${Money} value=${m.credit.amount} currency=${m.credit.currency} />` : null}
              ${!m.credit && m.creditUnits !== null ? html`<${Quantity} units=${m.creditUnits} unit=${m.unit} />` : null}
            </strong>
            ${m.credit || m.creditUnits !== null ? null : html`<span class="hint">${t('account.creditUnknown')}</span>`}
            <${DaysLeft} m=${m} />
          </p>
          <dl class="facts">
            <div><dt>${t('receipt.account')}</dt><dd><bdi dir="ltr">${num(m.account.number)}</bdi></dd></div>
            <div><dt>${t('account.premise')}</dt><dd><bdi>${m.premise.address}</bdi></dd></div>
            <div>
              <dt>${t('account.supply')}</dt>
              <dd>
                <span class=${`badge ${m.online ? 'ok' : 'warn'}`}>
                  ${m.online ? t('fleet.online') : t('fleet.offline')}
                </span>
                ${m.lastReading?.relay === false ? html` <span class="badge bad">${t('account.supplyOff')}</span>` : null}
              </dd>
            </div>
            ${
              m.creditAt
                ? html`<div><dt>${t('account.creditAt')}</dt><dd>${dateTime(m.creditAt, who.utility.timezone)}</dd></div>`
                : null
            }
            ${
              m.accountCredit
                ? html`<div><dt>${t('account.accountCredit')}</dt><dd data-testid="account-credit"><${Money} value=${m.accountCredit.amount} currency=${m.accountCredit.currency} /></dd></div>`
                : null
            }
            ${
              m.lastTopUp
                ? html`<div>
                    <dt>${t('account.lastTopUp')}</dt>
                    <dd data-testid="last-topup">
                      <${Money} value=${m.lastTopUp.amount.amount} currency=${m.lastTopUp.amount.currency} />
                      <span class="hint reading-at">
                        <${Quantity} units=${m.lastTopUp.units} unit=${m.unit} /> · ${dateTime(m.lastTopUp.at, who.utility.timezone)}
                      </span>
                    </dd>
                  </div>`
                : null
            }
          </dl>
          <div class="actions">
            <a class="button" href=${`/#/account/meters/${m.id}`}>${t('account.consumption')}</a>
            <button type="button" class="primary" onClick=${() => topUp(who, m.serial)}>${t('nav.topup')}</button>
          </div>
        </li>`,
      )}
    </ul>
  <//>`;
}

// ---------------------------------------------------------------------------------------------------------
// Consumption chart

export function AccountMeter({ params }) {
  const meters = useApi('/api/v1/me/meters');
  const meter = meters.data?.meters.find((m) => m.id === params.id);
  const title = meter
    ? t('account.consumptionOf', { serial: `\u2066${num(meter.serial)}\u2069` })
    : t('account.consumption');
  return html`<${Screen} name="account-meter" title=${title}>
    <p><a href="/#/account">${t('account.backToMeters')}</a></p>
    <${Consumption} path=${`/api/v1/me/meters/${params.id}/consumption`} />
  <//>`;
}

// ---------------------------------------------------------------------------------------------------------
// History

/** "2026-12-05 01:12": a spreadsheet's date and time, in the utility's zone. */
function csvDateTime(iso, timeZone) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(iso));
  const get = (type) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}`;
}

const csvCell = (value) => {
  const s = String(value ?? '');
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

/**
 * The customer's payments as a CSV file a spreadsheet opens in either language (UTF-8 with a byte-order
 * mark): local date and time, the receipt number a counter's reprint accepts, meter, where, amount, units.
 */
export function paymentsCsv(payments, timeZone) {
  const head = ['when', 'receipt', 'meter', 'channel', 'amount', 'currency', 'units', 'unit', 'status'].map(
    (k) => t(`account.csv.${k}`),
  );
  const rows = payments.map((p) => [
    csvDateTime(p.at, timeZone),
    p.vendId.slice(0, 8).toUpperCase(),
    p.meterSerial,
    t(`account.channel.${p.channel}`),
    p.amountPaid.amount,
    p.amountPaid.currency,
    formatMinor(p.units, 3),
    p.unit === 'L' ? 'm³' : 'kWh',
    t(`account.vend.${p.status}`),
  ]);
  return `\ufeff${[head, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n')}\r\n`;
}

/** Downloads every payment (up to the API's page of 200) as CSV. */
function PaymentsExport({ tz }) {
  const { busy, error, run } = useTask();
  const download = () =>
    run(async () => {
      const all = await api('GET', '/api/v1/me/payments?limit=200');
      const blob = new Blob([paymentsCsv(all.payments, tz)], { type: 'text/csv;charset=utf-8' });
      saveBlob(blob, `rasid-payments-${csvDateTime(new Date().toISOString(), tz).slice(0, 10)}.csv`);
    });
  return html`<p class="actions no-print">
    <button type="button" data-testid="payments-csv" onClick=${download} disabled=${busy}>${t('account.paymentsCsv')}</button>
  </p>
  <${Alert}>${error}<//>`;
}

export function AccountHistory({ who }) {
  const tokens = useApi('/api/v1/me/tokens?limit=50');
  const payments = useApi('/api/v1/me/payments?limit=50');
  const meters = useApi('/api/v1/me/meters');
  const unitOf = (meterId) => meters.data?.meters.find((m) => m.id === meterId)?.unit ?? 'Wh';
  const tz = who.utility.timezone;
  // Lists of short records rather than wide tables: a phone shows each whole, with nothing to scroll sideways.
  return html`<${Screen} name="account-history" title=${t('account.historyTitle')}>
    <${Alert}>${tokens.error ?? payments.error}<//>
    <h2 id="payments-title">${t('account.payments')}</h2>
    ${
      payments.data === null
        ? html`<${Loading} />`
        : payments.data.payments.length === 0
          ? html`<p data-testid="no-payments">${t('account.noPayments')} <a href="/#/">${t('account.topUpByNumber')}</a></p>`
          : html`<${PaymentsExport} tz=${tz} /><ul class="records" data-testid="payments" aria-labelledby="payments-title">
            ${payments.data.payments.map(
              (p) => html`<li>
                <div class="record-head">
                  <span>${dateTime(p.at, tz)}</span>
                  <strong><${Money} value=${p.amountPaid.amount} currency=${p.amountPaid.currency} /></strong>
                </div>
                <p class="hint">
                  ${t('receipt.meter')} <bdi dir="ltr">${num(p.meterSerial)}</bdi>${' · '}
                  ${t(`account.channel.${p.channel}`)}${' · '}<${Quantity} units=${p.units} unit=${p.unit} />${' · '}
                  <span class=${p.status === 'completed' ? '' : 'bad'}>${t(`account.vend.${p.status}`)}</span>
                </p>
              </li>`,
            )}
          </ul>`
    }
    <h2 id="tokens-title">${t('account.tokens')}</h2>
    ${
      tokens.data === null
        ? html`<${Loading} />`
        : tokens.data.tokens.length === 0
          ? html`<p>${t('account.noTokens')}</p>`
          : html`<ul class="records" data-testid="tokens" aria-labelledby="tokens-title">
            ${tokens.data.tokens.map(
              (k) => html`<li>
                <div class="record-head">
                  <span>${dateTime(k.issuedAt, tz)}</span>
                  <span>${k.units === null ? null : html`<${Quantity} units=${k.units} unit=${unitOf(k.meterId)} />`}</span>
                </div>
                <p class="record-token"><${TokenText} token=${k.token} /></p>
                <p class="hint">
                  ${t('receipt.meter')} <bdi dir="ltr">${num(k.meterSerial)}</bdi>${' · '}${t('account.used')}:${' '}
                  ${k.usedAt ? dateTime(k.usedAt, tz) : t('account.notYet')}
                </p>
              </li>`,
            )}
          </ul>`
    }
  <//>`;
}

// ---------------------------------------------------------------------------------------------------------
// Low-credit alerts

function AlertForm({ account, who }) {
  const exponent = who.utility.exponent;
  const currency = who.utility.currency;
  const [enabled, setEnabled] = useState(account.alerts.enabled);
  const [threshold, setThreshold] = useState(account.alerts.threshold?.amount ?? '');
  const [days, setDays] = useState(account.alerts.days === null ? '' : String(account.alerts.days));
  const [errors, setErrors] = useState({});
  const [saved, setSaved] = useState(null);
  const { busy, error: failed, setError: setFailed, run } = useTask();
  const id = (x) => `${x}-${account.id.slice(0, 8)}`;

  async function save(e) {
    e.preventDefault();
    const next = {};
    let thresholdMinor = null;
    if (threshold.trim() !== '') {
      const parsed = parseAmount(threshold, exponent);
      if (parsed.error === 'zero') thresholdMinor = '0';
      else if (parsed.error) next.threshold = t(`amount.${parsed.error}`, { decimals: num(exponent) });
      else thresholdMinor = parsed.minor;
    }
    let dayCount = null;
    if (days.trim() !== '') {
      const d = latinDigits(days).trim();
      if (!/^\d{1,2}$/.test(d) || Number(d) > 60) next.days = t('account.daysInvalid');
      else dayCount = Number(d);
    }
    setErrors(next);
    setSaved(null);
    setFailed(null);
    if (Object.keys(next).length > 0) return;
    await run(
      () =>
        api('PUT', `/api/v1/me/accounts/${account.id}/alerts`, {
          body: { enabled, thresholdMinor, days: dayCount },
        }),
      { show: () => setSaved(t('account.alertsSaved')) },
    );
  }

  return html`<form class="alert-settings" onSubmit=${save} novalidate aria-labelledby=${id('title')}>
    <h2 id=${id('title')}>${t('receipt.account')} <bdi dir="ltr">${num(account.number)}</bdi></h2>
    <p class="hint">
      <bdi>${account.premise.address}</bdi>${' · '}
      ${t('account.credit')}: <${Money} value=${account.credit.amount} currency=${account.credit.currency} />
    </p>
    <div class="field check">
      <input
        type="checkbox"
        id=${id('enabled')}
        checked=${enabled}
        onChange=${(e) => setEnabled(e.currentTarget.checked)}
      />
      <label for=${id('enabled')}>${t('account.alertsOn')}</label>
    </div>
    <${Field}
      id=${id('threshold')}
      label=${t('account.threshold', { currency })}
      hint=${t('account.thresholdHint')}
      error=${errors.threshold}
      value=${threshold}
      inputmode="decimal"
      autocomplete="off"
      dir="ltr"
      disabled=${!enabled}
      onInput=${(e) => setThreshold(e.currentTarget.value)}
    />
    <${Field}
      id=${id('days')}
      label=${t('account.days')}
      hint=${t('account.daysHint')}
      error=${errors.days}
      value=${days}
      inputmode="numeric"
      autocomplete="off"
      dir="ltr"
      disabled=${!enabled}
      onInput=${(e) => setDays(e.currentTarget.value)}
    />
    <${Alert}>${failed}<//>
    <${Alert} kind="ok">${saved}<//>
    <${Submit} busy=${busy}>${t('account.save')}<//>
  </form>`;
}

export function AccountAlerts({ who }) {
  const me = useApi('/api/v1/me');
  return html`<${Screen} name="account-alerts" title=${t('account.alertsTitle')}>
    <p class="lead">${t('account.alertsLead')}</p>
    <${Alert}>${me.error}<//>
    ${me.data === null && !me.error ? html`<${Loading} />` : null}
    ${(me.data?.accounts ?? []).map((a) => html`<${AlertForm} key=${a.id} account=${a} who=${who} />`)}
  <//>`;
}

// ---------------------------------------------------------------------------------------------------------
// Cases

const CATEGORIES = ['meter_fault', 'billing_dispute', 'complaint', 'request'];

function CaseStatus({ status }) {
  const kind =
    status === 'waiting_customer' ? 'warn' : status === 'resolved' || status === 'closed' ? 'ok' : '';
  return html`<span class=${`badge ${kind}`} data-testid="case-status">${t(`account.caseStatus.${status}`)}</span>`;
}

export function AccountCases({ who, navigate }) {
  const list = useApi('/api/v1/cases?limit=50');
  const meters = useApi('/api/v1/me/meters');
  const [category, setCategory] = useState('meter_fault');
  const [meterId, setMeterId] = useState('');
  const [subject, setSubject] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState(null);
  const { busy, error: failed, run } = useTask();

  async function open(e) {
    e.preventDefault();
    if (!subject.trim()) return setError(t('account.subjectRequired'));
    setError(null);
    const meter = meters.data?.meters.find((m) => m.id === meterId);
    await run(
      () =>
        api('POST', '/api/v1/cases', {
          body: {
            category,
            subject: subject.trim(),
            description: description.trim(),
            ...(meter ? { meterId: meter.id, accountId: meter.account.id } : {}),
          },
        }),
      { leaves: true, show: (c) => navigate(`/account/cases/${c.id}`) },
    );
  }

  const cases = list.data?.cases ?? [];
  return html`<${Screen} name="account-cases" title=${t('account.casesTitle')}>
    <${Alert}>${list.error}<//>
    ${
      list.data === null
        ? html`<${Loading} />`
        : cases.length === 0
          ? html`<p>${t('account.noCases')}</p>`
          : html`<ul class="my-cases">
            ${cases.map(
              (c) => html`<li>
                <a href=${`/#/account/cases/${c.id}`}><bdi dir="ltr">${num(c.number)}</bdi> · <bdi>${c.subject}</bdi></a>
                <${CaseStatus} status=${c.status} />
                <span class="hint">${categoryLabel(c.category)} · ${dateTime(c.createdAt, who.utility.timezone)}</span>
              </li>`,
            )}
          </ul>`
    }
    <h2 id="new-case">${t('account.newCase')}</h2>
    <form onSubmit=${open} novalidate aria-labelledby="new-case">
      <div class="field">
        <label for="case-category">${t('cases.category')}</label>
        <select id="case-category" value=${category} onChange=${(e) => setCategory(e.currentTarget.value)}>
          ${CATEGORIES.map((c) => html`<option value=${c}>${t(`category.${c}`)}</option>`)}
        </select>
      </div>
      <div class="field">
        <label for="case-meter">${t('receipt.meter')}</label>
        <select id="case-meter" value=${meterId} onChange=${(e) => setMeterId(e.currentTarget.value)}>
          <option value="">${t('account.noMeter')}</option>
          ${(meters.data?.meters ?? []).map((m) => html`<option value=${m.id}>${m.serial}</option>`)}
        </select>
      </div>
      <${Field}
        id="case-subject"
        label=${t('cases.subject')}
        error=${error}
        value=${subject}
        maxlength="200"
        onInput=${(e) => setSubject(e.currentTarget.value)}
      />
      <div class="field">
        <label for="case-description">${t('account.description')}</label>
        <textarea
          id="case-description"
          rows="4"
          maxlength="4000"
          value=${description}
          onInput=${(e) => setDescription(e.currentTarget.value)}
        ></textarea>
      </div>
      <${Alert}>${failed}<//>
      <${Submit} busy=${busy}>${t('account.openCase')}<//>
    </form>
  <//>`;
}

export function AccountCase({ who, params }) {
  const { data: c, error, reload } = useApi(`/api/v1/cases/${params.id}`);
  const [note, setNote] = useState('');
  const { busy, error: failed, run } = useTask();
  const tz = who.utility.timezone;

  async function reply(e) {
    e.preventDefault();
    if (!note.trim()) return;
    await run(() => api('POST', `/api/v1/cases/${params.id}/notes`, { body: { note: note.trim() } }), {
      show: () => {
        setNote('');
        reload();
      },
    });
  }

  return html`<${Screen} name="account-case" title=${c ? `\u2066${num(c.number)}\u2069 · \u2068${c.subject}\u2069` : t('common.loading')}>
    <p><a href="/#/account/cases">${t('account.backToCases')}</a></p>
    <${Alert}>${error}<//>
    ${
      c
        ? html`<dl class="facts">
            <div><dt>${t('cases.status')}</dt><dd><${CaseStatus} status=${c.status} /></dd></div>
            <div><dt>${t('cases.category')}</dt><dd>${categoryLabel(c.category)}</dd></div>
            ${c.meter ? html`<div><dt>${t('receipt.meter')}</dt><dd><bdi dir="ltr">${num(c.meter.serial)}</bdi></dd></div>` : null}
            <div><dt>${t('account.dueBy')}</dt><dd>${dateTime(c.slaDueAt, tz)}</dd></div>
          </dl>
          ${c.description ? html`<p class="case-description" dir="auto">${c.description}</p>` : null}
          <h2 id="timeline-title">${t('cases.timeline')}</h2>
          <ol class="timeline" data-testid="timeline" aria-labelledby="timeline-title">
            ${(c.events ?? []).map(
              (e) => html`<li>
                <time datetime=${e.at} class="hint">${dateTime(e.at, tz)}</time>
                <span>
                  ${
                    e.kind === 'status'
                      ? t('account.caseMoved', { to: t(`account.caseStatus.${e.toStatus}`) })
                      : t(`account.caseEvent.${e.kind}`)
                  }
                </span>
                ${e.note ? html`<q dir="auto">${e.note}</q>` : null}
              </li>`,
            )}
          </ol>
          ${
            c.status === 'closed'
              ? null
              : html`<form onSubmit=${reply} novalidate>
                <div class="field">
                  <label for="case-reply">${t('account.reply')}</label>
                  <textarea id="case-reply" rows="3" value=${note} onInput=${(e) => setNote(e.currentTarget.value)}></textarea>
                </div>
                <${Alert}>${failed}<//>
                <${Submit} busy=${busy}>${t('account.send')}<//>
              </form>`
          }`
        : null
    }
  <//>`;
}

// ---------------------------------------------------------------------------------------------------------
// Routing

/** The customer's screens; every one needs a customer's session. */
export const ACCOUNT_ROUTES = [
  { pattern: /^\/account$/, screen: AccountHome },
  { pattern: /^\/account\/meters\/(?<id>[0-9a-f-]{36})$/, screen: AccountMeter },
  { pattern: /^\/account\/history$/, screen: AccountHistory },
  { pattern: /^\/account\/alerts$/, screen: AccountAlerts },
  { pattern: /^\/account\/cases$/, screen: AccountCases },
  { pattern: /^\/account\/cases\/(?<id>[0-9a-f-]{36})$/, screen: AccountCase },
];

export function accountNav() {
  const link = (path, key) => ({ href: `/#${path}`, label: t(key) });
  return [
    link('/account', 'account.nav.meters'),
    link('/account/history', 'account.nav.history'),
    link('/account/alerts', 'account.nav.alerts'),
    link('/account/cases', 'account.nav.cases'),
  ];
}
