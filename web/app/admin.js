/**
 * Go-live screens: the first-run screen of a fresh install (the setup code `rasid start` printed, then the
 * first utility and its admin), the admin's utility settings (every change audited by the API), public
 * holidays and no-disconnect periods shown with the Hijri date beside the Gregorian one, and an account's
 * arrears (record a debt with its reason; see what is recovered).
 */
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { html } from './html.js';
import { currencyName, currentLang, num, t } from './i18n.js';
import { formatMinor, parseAmount } from './money.js';
import { Alert, Field, Money, Screen, SimpleTable, Submit, useApi, useTask } from './ui.js';

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** The first utility and its admin, with the one-time setup code from the log of `rasid start`. */
export function FirstRun() {
  const [form, setForm] = useState({
    setupCode: '',
    code: '',
    name: '',
    nameAr: '',
    currency: 'OMR',
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'Asia/Muscat',
    admin: 'admin',
    password: '',
  });
  const task = useTask();
  const set = (k) => (e) => setForm((f) => ({ ...f, [k]: e.currentTarget.value }));
  const submit = (e) => {
    e.preventDefault();
    const { nameAr, ...rest } = form;
    task.run(
      () => api('POST', '/api/v1/setup', { body: { ...rest, ...(nameAr.trim() ? { nameAr } : {}) } }),
      {
        show: () => {
          location.hash = '#/signin';
          location.reload();
        },
      },
    );
  };
  return html`<${Screen} name="setup" title=${t('setup.title')}>
    <p class="lead">${t('setup.lead')}</p>
    <form onSubmit=${submit}>
      <${Field} id="setup-code" label=${t('setup.code')} hint=${t('setup.codeHint')} dir="ltr" required value=${form.setupCode} onInput=${set('setupCode')} />
      <${Field} id="setup-utility" label=${t('setup.utility')} hint=${t('setup.utilityHint')} dir="ltr" required value=${form.code} onInput=${set('code')} />
      <${Field} id="setup-name" label=${t('setup.name')} required value=${form.name} onInput=${set('name')} />
      <${Field} id="setup-name-ar" label=${t('setup.nameAr')} dir="rtl" value=${form.nameAr} onInput=${set('nameAr')} />
      <${Field} id="setup-currency" label=${t('setup.currency')} dir="ltr" required maxlength="3" value=${form.currency} onInput=${set('currency')} />
      <${Field} id="setup-timezone" label=${t('setup.timezone')} dir="ltr" required value=${form.timezone} onInput=${set('timezone')} />
      <${Field} id="setup-admin" label=${t('setup.admin')} dir="ltr" required autocomplete="username" value=${form.admin} onInput=${set('admin')} />
      <${Field} id="setup-password" type="password" label=${t('auth.password')} hint=${t('setup.passwordHint')} dir="ltr" required minlength="10" autocomplete="new-password" value=${form.password} onInput=${set('password')} />
      <${Alert}>${task.error}<//>
      <${Submit} busy=${task.busy}>${t('setup.create')}<//>
    </form>
    <p class="hint">${t('setup.cli')}</p>
  <//>`;
}

/** A Gregorian date with its Hijri date beside it (as the API answers them). */
function Dual({ day, hijri }) {
  return html`<span><bdi dir="ltr">${day}</bdi> <span class="hint">(${hijri?.[currentLang()] ?? ''})</span></span>`;
}

function SettingsForm({ s, reload, saved, setSaved }) {
  const exp = s.exponent;
  const [form, setForm] = useState({
    name: s.name,
    nameAr: s.nameAr ?? '',
    taxPct: String(s.taxRateBp / 100),
    weekend: [...s.weekend],
    night: s.friendlyHours !== null,
    from: s.friendlyHours?.from ?? '22:00',
    to: s.friendlyHours?.to ?? '06:00',
    lowCredit: s.lowCreditMinor === null ? '' : formatMinor(s.lowCreditMinor, exp),
    emergency: formatMinor(s.emergencyCreditMinor, exp),
    minPurchase: formatMinor(s.minPurchaseMinor, exp),
    headerEn: s.receipt.header.en ?? '',
    headerAr: s.receipt.header.ar ?? '',
    footerEn: s.receipt.footer.en ?? '',
    footerAr: s.receipt.footer.ar ?? '',
    smsSender: s.smsSender ?? '',
    graceDays: String(s.deceasedGraceDays ?? 90),
    stallDays: String(s.outreachStallDays ?? 3),
  });
  const task = useTask();
  const set = (k) => (e) => setForm((f) => ({ ...f, [k]: e.currentTarget.value }));
  const minor = (text) => parseAmount(text, exp).minor ?? '0';
  const save = (e) => {
    e.preventDefault();
    setSaved(false);
    task.run(
      () =>
        api('PATCH', '/api/v1/utility/settings', {
          body: {
            name: form.name,
            nameAr: form.nameAr.trim() || null,
            taxRateBp: Math.round(Number(form.taxPct) * 100),
            weekend: form.weekend,
            friendlyHours: form.night ? { from: form.from, to: form.to } : null,
            lowCreditMinor: form.lowCredit.trim() ? minor(form.lowCredit) : null,
            emergencyCreditMinor: minor(form.emergency),
            minPurchaseMinor: minor(form.minPurchase),
            receipt: {
              header: { en: form.headerEn, ar: form.headerAr },
              footer: { en: form.footerEn, ar: form.footerAr },
            },
            smsSender: form.smsSender.trim() || null,
            deceasedGraceDays: Number(form.graceDays),
            outreachStallDays: Number(form.stallDays),
          },
        }),
      {
        show: () => {
          setSaved(true);
          reload();
        },
      },
    );
  };
  return html`<form onSubmit=${save} data-testid="settings-form">
    <dl class="facts">
      <div><dt>${t('setup.utility')}</dt><dd><bdi dir="ltr">${s.code}</bdi></dd></div>
      <div><dt>${t('setup.currency')}</dt><dd><bdi dir="ltr">${s.currency}</bdi> · ${t('settings.decimals', { n: num(s.exponent) })}</dd></div>
      <div><dt>${t('setup.timezone')}</dt><dd><bdi dir="ltr">${s.timezone}</bdi></dd></div>
    </dl>
    <${Field} id="settings-name" label=${t('setup.name')} value=${form.name} onInput=${set('name')} />
    <${Field} id="settings-name-ar" label=${t('setup.nameAr')} dir="rtl" value=${form.nameAr} onInput=${set('nameAr')} />
    <${Field} id="settings-tax" label=${t('settings.tax')} inputmode="decimal" dir="ltr" value=${form.taxPct} onInput=${set('taxPct')} />
    <fieldset>
      <legend>${t('settings.weekend')}</legend>
      ${WEEKDAYS.map(
        (d) => html`<label class="check"><input
            type="checkbox"
            id=${`weekend-${d}`}
            checked=${form.weekend.includes(d)}
            onChange=${(e) => {
              const on = e.currentTarget.checked;
              setForm((f) => ({ ...f, weekend: on ? [...f.weekend, d] : f.weekend.filter((x) => x !== d) }));
            }}
          />
          ${t(`weekday.${d}`)}</label>`,
      )}
    </fieldset>
    <fieldset>
      <legend>${t('settings.friendly')}</legend>
      <label class="check"><input type="checkbox" id="settings-night" checked=${form.night} onChange=${(e) => setForm((f) => ({ ...f, night: e.currentTarget.checked }))} /> ${t('settings.night')}</label>
      ${
        form.night
          ? html`<${Field} id="settings-night-from" type="time" label=${t('settings.from')} dir="ltr" value=${form.from} onInput=${set('from')} />
            <${Field} id="settings-night-to" type="time" label=${t('settings.to')} dir="ltr" value=${form.to} onInput=${set('to')} />`
          : null
      }
    </fieldset>
    <${Field} id="settings-low-credit" label=${t('settings.lowCredit', { currency: s.currency })} hint=${t('settings.lowCreditHint')} inputmode="decimal" dir="ltr" value=${form.lowCredit} onInput=${set('lowCredit')} />
    <${Field} id="settings-emergency" label=${t('settings.emergency', { currency: s.currency })} inputmode="decimal" dir="ltr" value=${form.emergency} onInput=${set('emergency')} />
    <${Field} id="settings-min-purchase" label=${t('settings.minPurchase', { currency: s.currency })} inputmode="decimal" dir="ltr" value=${form.minPurchase} onInput=${set('minPurchase')} />
    <${Field} id="settings-header-ar" label=${t('settings.headerAr')} dir="rtl" value=${form.headerAr} onInput=${set('headerAr')} />
    <${Field} id="settings-header-en" label=${t('settings.headerEn')} dir="ltr" value=${form.headerEn} onInput=${set('headerEn')} />
    <${Field} id="settings-footer-ar" label=${t('settings.footerAr')} dir="rtl" value=${form.footerAr} onInput=${set('footerAr')} />
    <${Field} id="settings-footer-en" label=${t('settings.footerEn')} dir="ltr" value=${form.footerEn} onInput=${set('footerEn')} />
    <${Field} id="settings-sms-sender" label=${t('settings.smsSender')} dir="ltr" maxlength="11" value=${form.smsSender} onInput=${set('smsSender')} />
    <${Field} id="settings-grace-days" label=${t('settings.deceasedGraceDays')} hint=${t('settings.deceasedGraceHint')} inputmode="numeric" dir="ltr" value=${form.graceDays} onInput=${set('graceDays')} />
    <${Field} id="settings-stall-days" label=${t('settings.outreachStallDays')} inputmode="numeric" dir="ltr" value=${form.stallDays} onInput=${set('stallDays')} />
    <${Alert}>${task.error}<//>
    <${Alert} kind="ok">${saved ? t('settings.saved') : null}<//>
    <${Submit} busy=${task.busy}>${t('settings.save')}<//>
  </form>`;
}

function Periods() {
  const { data, error, reload } = useApi('/api/v1/utility/no-disconnect-periods');
  const [form, setForm] = useState({ kind: 'public_holiday', from: '', to: '', reason: '' });
  const task = useTask();
  const set = (k) => (e) => setForm((f) => ({ ...f, [k]: e.currentTarget.value }));
  const add = (e) => {
    e.preventDefault();
    task.run(
      () =>
        api('POST', '/api/v1/utility/no-disconnect-periods', { body: { ...form, to: form.to || form.from } }),
      {
        show: () => {
          setForm({ kind: 'public_holiday', from: '', to: '', reason: '' });
          reload();
        },
      },
    );
  };
  return html`<section aria-labelledby="periods-title">
    <h2 id="periods-title">${t('periods.title')}</h2>
    <${Alert}>${error}<//>
    <${SimpleTable}
      caption=${t('periods.title')}
      rows=${data?.periods ?? []}
      cols=${[
        [t('periods.kind'), (p) => t(`periods.${p.kind}`)],
        [t('settings.from'), (p) => html`<${Dual} day=${p.from} hijri=${p.fromHijri} />`],
        [t('settings.to'), (p) => html`<${Dual} day=${p.to} hijri=${p.toHijri} />`],
        [t('periods.reason'), (p) => html`<bdi>${p.reason}</bdi>`],
      ]}
    />
    <form onSubmit=${add} data-testid="period-form">
      <div class="field">
        <label for="period-kind">${t('periods.kind')}</label>
        <select id="period-kind" value=${form.kind} onChange=${set('kind')}>
          <option value="public_holiday">${t('periods.public_holiday')}</option>
          <option value="declared">${t('periods.declared')}</option>
        </select>
      </div>
      <${Field} id="period-from" type="date" label=${t('settings.from')} dir="ltr" required value=${form.from} onInput=${set('from')} />
      <${Field} id="period-to" type="date" label=${t('settings.to')} dir="ltr" value=${form.to} onInput=${set('to')} />
      <${Field} id="period-reason" label=${t('periods.reason')} required minlength="3" value=${form.reason} onInput=${set('reason')} />
      <${Alert}>${task.error}<//>
      <${Submit} busy=${task.busy}>${t('periods.add')}<//>
    </form>
  </section>`;
}

/** The admin's settings screen, with the no-disconnect periods. */
export function UtilitySettings() {
  const { data, error, reload } = useApi('/api/v1/utility/settings');
  // Kept here: the form is made anew from the settings read back after a save.
  const [saved, setSaved] = useState(false);
  return html`<${Screen} name="settings" title=${t('settings.title')} wide>
    <${Alert}>${error}<//>
    ${
      data
        ? html`<${SettingsForm} key=${JSON.stringify(data)} s=${data} reload=${reload} saved=${saved} setSaved=${setSaved} />`
        : null
    }
    <${Periods} />
  <//>`;
}

/** An account's arrears: record a debt with its reason; what was recovered and what is outstanding. */
export function Arrears({ params }) {
  const { data, error, reload } = useApi(`/api/v1/accounts/${params.id}/arrears`);
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const task = useTask();
  const record = (e) => {
    e.preventDefault();
    task.run(
      () =>
        api('POST', `/api/v1/accounts/${params.id}/arrears`, {
          body: { amountMinor: parseAmount(amount, data?.exponent ?? 3).minor ?? '0', reason },
        }),
      {
        show: () => {
          setAmount('');
          setReason('');
          reload();
        },
      },
    );
  };
  return html`<${Screen} name="arrears" title=${t('arrears.title')}>
    <${Alert}>${error}<//>
    ${
      data
        ? html`<dl class="facts">
            <div><dt>${t('arrears.recorded')}</dt><dd><${Money} value=${data.recorded.amount} currency=${data.currency} /></dd></div>
            <div><dt>${t('arrears.recovered')}</dt><dd><${Money} value=${data.recovered.amount} currency=${data.currency} /></dd></div>
            <div><dt>${t('arrears.outstanding')}</dt><dd data-testid="arrears-outstanding"><${Money} value=${data.outstanding.amount} currency=${data.currency} /></dd></div>
          </dl>
          <${SimpleTable}
            caption=${t('arrears.entries')}
            rows=${data.entries}
            cols=${[
              [t('meter.at'), (x) => html`<bdi dir="ltr">${x.at.slice(0, 10)}</bdi>`],
              [t('meter.amount'), (x) => html`<bdi dir="ltr">${num(x.amount.amount)}</bdi>`, 'n'],
              [t('periods.reason'), (x) => html`<bdi>${x.reason}</bdi>`],
            ]}
          />`
        : null
    }
    <form onSubmit=${record} data-testid="arrears-form">
      <${Field} id="arrears-amount" label=${t('arrears.amount', { currency: data?.currency ? currencyName(data.currency) : '' })} inputmode="decimal" dir="ltr" required value=${amount} onInput=${(e) => setAmount(e.currentTarget.value)} />
      <${Field} id="arrears-reason" label=${t('periods.reason')} required minlength="3" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} />
      <${Alert}>${task.error}<//>
      <${Submit} busy=${task.busy}>${t('arrears.record')}<//>
    </form>
  <//>`;
}

export const ADMIN_ROUTES = [
  { pattern: /^\/admin\/settings$/, roles: [], screen: UtilitySettings },
  {
    pattern: /^\/ops\/accounts\/(?<id>[0-9a-f-]{36})\/arrears$/,
    roles: ['operator', 'service'],
    screen: Arrears,
  },
];
