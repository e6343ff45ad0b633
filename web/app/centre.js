/**
 * The contact centre's screens: the screen pop (a caller's number → the customer, accounts, meters,
 * credit, last payments and tokens, open cases; a case opened from it takes the phone channel and the
 * caller with it), the KPI of a period by channel, category or department with charts and a CSV, the
 * technician's work orders, and the public satisfaction survey a customer opens from their SMS or WhatsApp.
 * Telephony links here with `/#/service/pop?number=<caller>`.
 */
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { CountBars } from './chart.js';
import { html } from './html.js';
import { currentLang, dateTime, num, t } from './i18n.js';
import { formatMinor, latinDigits } from './money.js';
import { Alert, Money, Screen, SimpleTable, Submit, saveBlob, useApi, useTask } from './ui.js';

const STAFF = ['operator', 'service'];

function ScreenPop({ who, query, navigate }) {
  const given = query?.get('number') ?? '';
  const [number, setNumber] = useState(given);
  const pop = useApi(given ? `/api/v1/contact-centre/screen-pop?number=${encodeURIComponent(given)}` : null);
  const cur = who.utility.currency;
  const exp = who.utility.exponent;
  const money = (minor) => html`<${Money} value=${formatMinor(minor, exp)} currency=${cur} />`;
  const find = (e) => {
    e.preventDefault();
    const n = latinDigits(number).replace(/[^\d+]/g, '');
    if (n) navigate(`/service/pop?number=${encodeURIComponent(n)}`);
  };
  return html`<${Screen} name="screen-pop" title=${t('pop.title')} wide>
    <form class="inline" role="search" onSubmit=${find} novalidate>
      <div class="field">
        <label for="pop-number">${t('pop.number')}</label>
        <input id="pop-number" type="tel" dir="ltr" inputmode="tel" value=${number} onInput=${(e) => setNumber(e.currentTarget.value)} />
      </div>
      <button type="submit">${t('common.search')}</button>
    </form>
    ${given && pop.data === null && !pop.error ? html`<p role="status">${t('common.loading')}</p>` : null}
    <${Alert}>${given ? pop.error : null}<//>
    ${
      pop.data && given
        ? pop.data.customers.length === 0
          ? html`<p role="status" data-testid="pop-unknown">${t('pop.unknown', { number: `\u2066${num(given)}\u2069` })}</p>
              <p><a class="button" href=${`/#/service/cases/new?caller=${encodeURIComponent(given)}`}>${t('pop.openCase')}</a></p>`
          : pop.data.customers.map(
              (c) => html`<section class="card-section" data-testid="pop-customer">
                <h2><bdi>${currentLang() === 'ar' && c.nameAr ? c.nameAr : c.name}</bdi></h2>
                <p>
                  ${c.phone ? html`<bdi dir="ltr">${num(c.phone)}</bdi>` : null}
                  ${c.email ? html` · <bdi dir="ltr">${c.email}</bdi>` : null}
                </p>
                <p>
                  <a
                    class="button primary"
                    data-testid="pop-open-case"
                    href=${`/#/service/cases/new?customer=${c.id}&name=${encodeURIComponent(c.name)}${c.accounts[0] ? `&account=${c.accounts[0].id}` : ''}&caller=${encodeURIComponent(given)}`}
                    >${t('pop.openCase')}</a
                  >
                </p>
                ${c.accounts.map(
                  (a) => html`<h3>${t('pop.account')} <bdi dir="ltr">${num(a.number)}</bdi></h3>
                    <p><bdi>${a.address}</bdi>${a.area ? html` · <bdi>${a.area}</bdi>` : null}</p>
                    <p>${t('pop.balance')}: ${money(a.balanceMinor)}${a.debtMinor !== '0' ? html` · ${t('pop.debt')}: ${money(a.debtMinor)}` : null}</p>
                    <${SimpleTable}
                      caption=${t('pop.meters')}
                      testid="pop-meters"
                      rows=${a.meters}
                      cols=${[
                        [
                          t('pop.serial'),
                          (m) =>
                            html`<a href=${`/#/ops/meters/${m.id}`}><bdi dir="ltr">${num(m.serial)}</bdi></a>`,
                        ],
                        [t('pop.credit'), (m) => (m.creditMinor === null ? '—' : money(m.creditMinor)), 'n'],
                        [t('pop.daysLeft'), (m) => (m.daysLeft === null ? '—' : num(m.daysLeft)), 'n'],
                        [t('pop.supply'), (m) => (m.supply ? t(`pop.supply.${m.supply}`) : '—')],
                      ]}
                    />
                    <${SimpleTable}
                      caption=${t('pop.payments')}
                      testid="pop-payments"
                      rows=${a.payments}
                      empty=${t('pop.noPayments')}
                      cols=${[
                        [t('pop.when'), (v) => dateTime(v.at)],
                        [t('pop.amount'), (v) => money(v.amountMinor), 'n'],
                        [
                          t('pop.token'),
                          (v) =>
                            v.token
                              ? html`<bdi dir="ltr" class="mono">${num(v.token.replace(/(\d{4})(?=\d)/g, '$1-'))}</bdi>`
                              : '—',
                          // A token reads as one line of five groups; the table's frame scrolls on a phone.
                          'nowrap',
                        ],
                      ]}
                    />`,
                )}
                <${SimpleTable}
                  caption=${t('pop.openCases')}
                  testid="pop-cases"
                  rows=${c.openCases}
                  empty=${t('pop.noCases')}
                  cols=${[
                    [
                      t('cases.number'),
                      (k) => html`<a href=${`/#/service/cases/${k.id}`}><bdi dir="ltr">${k.number}</bdi></a>`,
                    ],
                    [t('cases.subject'), (k) => html`<bdi>${k.subject}</bdi>`],
                    [t('cases.status'), (k) => t(`status.${k.status}`)],
                  ]}
                />
              </section>`,
            )
        : null
    }
  <//>`;
}

const PERIODS = [7, 30, 90];
const DIMENSIONS = ['channel', 'category', 'department'];

function pct(x) {
  return x === null || x === undefined ? '—' : `${num(Math.round(x * 100))}%`;
}

function duration(s) {
  if (s === null || s === undefined) return '—';
  if (s < 3600) return t('kpi.minutes', { n: num(Math.round(s / 60)) });
  return t('centreKpi.hours', { n: num((s / 3600).toFixed(1)) });
}

function CentreKpi({ query, navigate }) {
  const days = PERIODS.includes(Number(query?.get('days'))) ? Number(query.get('days')) : 30;
  const by = DIMENSIONS.includes(query?.get('by')) ? query.get('by') : 'channel';
  const bucket = days > 31 ? 'week' : 'day';
  // The period ends at the next midnight UTC, so the address stays the same while the screen is open.
  const [to] = useState(() => new Date(Math.ceil(Date.now() / 86_400_000) * 86_400_000));
  const from = new Date(to.getTime() - days * 86_400_000);
  const q = `from=${from.toISOString()}&to=${to.toISOString()}&by=${by}&bucket=${bucket}`;
  const { data, error } = useApi(`/api/v1/contact-centre/kpi?${q}`);
  const cats = useApi('/api/v1/case-categories');
  const depts = useApi('/api/v1/departments');
  const { busy, error: failure, run } = useTask();
  const go = (next) => navigate(`/service/centre-kpi?days=${next.days ?? days}&by=${next.by ?? by}`);
  const label = (key) => {
    if (key === '') return t('centreKpi.none');
    if (by === 'channel') return t(`channel.${key}`);
    if (by === 'category') return categoryLabel(key, cats.data?.categories);
    const d = depts.data?.departments.find((x) => x.code === key);
    return d ? (currentLang() === 'ar' ? d.nameAr : d.nameEn) : key;
  };
  const csv = () =>
    run(async () => {
      const blob = await api('GET', `/api/v1/contact-centre/kpi?${q}&format=csv`, { as: 'blob' });
      saveBlob(blob, `contact-centre-${from.toISOString().slice(0, 10)}.csv`);
    });
  const k = data?.total;
  return html`<${Screen} name="centre-kpi" title=${t('centreKpi.title')} wide>
    <form class="inline" onSubmit=${(e) => e.preventDefault()}>
      <div class="field">
        <label for="kpi-days">${t('centreKpi.period')}</label>
        <select id="kpi-days" value=${String(days)} onChange=${(e) => go({ days: e.currentTarget.value })}>
          ${PERIODS.map((d) => html`<option value=${String(d)}>${t('centreKpi.lastDays', { n: num(d) })}</option>`)}
        </select>
      </div>
      <div class="field">
        <label for="kpi-by">${t('centreKpi.by')}</label>
        <select id="kpi-by" value=${by} onChange=${(e) => go({ by: e.currentTarget.value })}>
          ${DIMENSIONS.map((d) => html`<option value=${d}>${t(`centreKpi.by.${d}`)}</option>`)}
        </select>
      </div>
      <button type="button" onClick=${csv} disabled=${busy} data-testid="kpi-csv">${t('common.csv')}</button>
    </form>
    <${Alert}>${error ?? failure}<//>
    ${
      k
        ? html`<ul class="cards">
            <li><div class="card"><span class="count" data-testid="kpi-answer-rate">${pct(k.calls?.answerRate)}</span><span class="label">${t('centreKpi.answerRate')}</span></div></li>
            <li><div class="card"><span class="count" data-testid="kpi-received">${num(k.received)}</span><span class="label">${t('centreKpi.received')}</span></div></li>
            <li><div class="card"><span class="count" data-testid="kpi-closed">${num(k.closed)}</span><span class="label">${t('kpi.closed')}</span></div></li>
            <li><div class="card"><span class="count">${duration(k.firstResponse.medianSeconds)}</span><span class="label">${t('kpi.firstResponse')}</span></div></li>
            <li><div class="card"><span class="count">${duration(k.resolution.medianSeconds)}</span><span class="label">${t('centreKpi.resolveMedian')}</span></div></li>
            <li><div class="card"><span class="count" data-testid="kpi-within-sla">${pct(k.withinSlaShare)}</span><span class="label">${t('kpi.withinSla')}</span></div></li>
            <li><div class="card"><span class="count">${num(k.reopened)}</span><span class="label">${t('centreKpi.reopened')}</span></div></li>
            <li><div class="card"><span class="count" data-testid="kpi-satisfaction">${k.satisfaction.mean === null ? '—' : `${num(k.satisfaction.mean.toFixed(1))} / ${num(5)}`}</span><span class="label">${t('centreKpi.satisfaction', { n: num(k.satisfaction.count) })}</span></div></li>
          </ul>
          <h2>${t('centreKpi.casesOverTime')}</h2>
          <${CountBars}
            title=${t('centreKpi.casesOverTime')}
            bucket=${bucket}
            series=${data.series}
            measures=${[
              { key: 'received', label: t('centreKpi.received'), value: (s) => s.received },
              { key: 'closed', label: t('kpi.closed'), value: (s) => s.closed },
            ]}
          />
          <h2>${t('centreKpi.callsOverTime')}</h2>
          <${CountBars}
            title=${t('centreKpi.callsOverTime')}
            bucket=${bucket}
            series=${data.series}
            measures=${[
              { key: 'answered', label: t('centreKpi.answered'), value: (s) => s.calls?.answered ?? 0 },
              { key: 'abandoned', label: t('centreKpi.abandoned'), value: (s) => s.calls?.abandoned ?? 0 },
            ]}
          />
          <${SimpleTable}
            caption=${t(`centreKpi.by.${by}`)}
            testid="kpi-groups"
            rows=${data.groups}
            cols=${[
              [t(`centreKpi.col.${by}`), (g) => html`<bdi>${label(g.key)}</bdi>`],
              [t('centreKpi.received'), (g) => num(g.received), 'n'],
              [t('kpi.closed'), (g) => num(g.closed), 'n'],
              [t('kpi.withinSla'), (g) => pct(g.withinSlaShare), 'n'],
              [t('kpi.firstResponse'), (g) => duration(g.firstResponse.medianSeconds), 'n'],
              [t('centreKpi.resolveP90'), (g) => duration(g.resolution.p90Seconds), 'n'],
              [t('centreKpi.reopened'), (g) => num(g.reopened), 'n'],
              [t('centreKpi.answerRate'), (g) => pct(g.calls?.answerRate), 'n'],
            ]}
          />`
        : null
    }
  <//>`;
}

/** A category's name in the reader's language: the utility's own, else Rasid's for a default one. */
export function categoryLabel(code, categories) {
  const c = categories?.find((x) => x.category === code);
  const own = c ? (currentLang() === 'ar' ? c.nameAr : c.nameEn) : null;
  if (own) return own;
  const key = `category.${code}`;
  const text = t(key);
  return text === key ? code : text;
}

function WorkOrders() {
  const { data, error, reload } = useApi('/api/v1/work-orders?status=open');
  const [chosen, setChosen] = useState(null);
  const [form, setForm] = useState({ outcome: 'fixed', result: '' });
  const { busy, error: failure, run } = useTask();
  const submit = (e) => {
    e.preventDefault();
    if (!form.result.trim()) return;
    run(
      () =>
        api('POST', `/api/v1/work-orders/${chosen.id}/result`, {
          body: { outcome: form.outcome, result: form.result.trim() },
        }),
      {
        show: () => {
          setChosen(null);
          setForm({ outcome: 'fixed', result: '' });
          reload();
        },
      },
    );
  };
  return html`<${Screen} name="work-orders" title=${t('orders.title')} wide>
    <${Alert}>${error}<//>
    ${
      data
        ? html`<${SimpleTable}
            caption=${t('orders.open')}
            testid="work-orders"
            rows=${data.workOrders}
            empty=${t('orders.none')}
            cols=${[
              [t('orders.number'), (w) => html`<bdi dir="ltr">${w.number}</bdi>`],
              [t('cases.subject'), (w) => html`<bdi>${w.subject}</bdi>`],
              [t('orders.where'), (w) => html`<bdi>${w.address ?? '—'}</bdi>`],
              [t('orders.instructions'), (w) => html`<bdi>${w.instructions}</bdi>`],
              [
                '',
                (w) =>
                  html`<button type="button" onClick=${() => setChosen(w)} data-testid=${`order-${w.number}`}>${t('orders.record')}</button>`,
              ],
            ]}
          />`
        : null
    }
    ${
      chosen
        ? html`<form onSubmit=${submit} novalidate>
            <h2>${t('orders.resultFor', { number: `\u2066${chosen.number}\u2069` })}</h2>
            <div class="field">
              <label for="order-outcome">${t('orders.outcome')}</label>
              <select id="order-outcome" value=${form.outcome} onChange=${(e) => setForm({ ...form, outcome: e.currentTarget.value })}>
                ${['fixed', 'not_fixed', 'no_access'].map((o) => html`<option value=${o}>${t(`orders.outcome.${o}`)}</option>`)}
              </select>
            </div>
            <div class="field">
              <label for="order-result">${t('orders.result')}</label>
              <textarea id="order-result" rows="3" value=${form.result} onInput=${(e) => setForm({ ...form, result: e.currentTarget.value })}></textarea>
            </div>
            <${Alert}>${failure}<//>
            <${Submit} busy=${busy}>${t('orders.save')}<//>
          </form>`
        : null
    }
  <//>`;
}

/** The survey a customer opens from the link in their SMS or WhatsApp; no sign-in. */
export function Survey({ token }) {
  const [score, setScore] = useState(null);
  const [comment, setComment] = useState('');
  const [done, setDone] = useState(null);
  const { busy, error, run } = useTask();
  const submit = (e) => {
    e.preventDefault();
    if (score === null) return;
    run(
      () =>
        api('POST', `/api/v1/surveys/${token}`, {
          body: { score, ...(comment.trim() ? { comment: comment.trim() } : {}) },
        }),
      {
        show: (r) => setDone(r.caseNumber),
      },
    );
  };
  return html`<${Screen} name="survey" title=${t('survey.title')}>
    ${
      done
        ? html`<p role="status" data-testid="survey-thanks">${t('survey.thanks', { number: `\u2066${done}\u2069` })}</p>`
        : html`<form onSubmit=${submit} novalidate>
            <fieldset class="choices">
              <legend>${t('survey.question')}</legend>
              ${[1, 2, 3, 4, 5].map(
                (n) => html`<label class="check" for=${`survey-${n}`}>
                  <input id=${`survey-${n}`} type="radio" name="survey-score" checked=${score === n} onChange=${() => setScore(n)} />
                  ${num(n)} — ${t(`survey.score.${n}`)}
                </label>`,
              )}
            </fieldset>
            <div class="field">
              <label for="survey-comment">${t('survey.comment')}</label>
              <textarea id="survey-comment" rows="3" maxlength="1000" value=${comment} onInput=${(e) => setComment(e.currentTarget.value)}></textarea>
            </div>
            <${Alert}>${error}<//>
            <${Submit} busy=${busy} disabled=${score === null}>${t('survey.send')}<//>
          </form>`
    }
  <//>`;
}

export const CENTRE_ROUTES = [
  { pattern: /^\/service\/pop$/, roles: STAFF, screen: ScreenPop },
  { pattern: /^\/service\/centre-kpi$/, roles: STAFF, screen: CentreKpi },
  { pattern: /^\/tech\/work-orders$/, roles: ['technician', 'operator'], screen: WorkOrders },
];
