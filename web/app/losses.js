/**
 * Non-revenue energy and water for operators (docs/losses.md): the districts with their loss per day, week or
 * month (a chart and the figures), a district's suspicion list with the evidence and a button that opens a
 * field-visit case through the case API, and one meter's daily use beside its neighbours'. The API does the
 * work; a period whose readings have a gap shows no loss, only how much it could be at most.
 */
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { BarChart, BUCKETS, bucketLabel, Quantity } from './chart.js';
import { html } from './html.js';
import { num, t } from './i18n.js';
import { Alert, Screen, SimpleTable, useApi, useTask } from './ui.js';

const DAY = 86_400_000;
const dayOf = (ms) => new Date(ms).toISOString().slice(0, 10);
const today = () => Math.floor(Date.now() / DAY) * DAY;

function share(bp) {
  return `${num((bp / 100).toFixed(1))} %`;
}

function PeriodStatus({ p, unit }) {
  if (p.status === 'complete') return html`<span>${share(p.loss.shareBp)}</span>`;
  if (p.status === 'partial')
    return html`<span class="hint"
      >${t('losses.partial', { covered: num(p.consumption.covered), meters: num(p.consumption.meters) })}
      ${p.lossAtMost !== null ? html` ${t('losses.atMost')} <${Quantity} units=${p.lossAtMost} unit=${unit} />` : null}</span
    >`;
  return html`<span class="hint">${t('losses.noInflow')}</span>`;
}

function DistrictLoss({ district }) {
  const [bucket, setBucket] = useState('day');
  const span = bucket === 'day' ? 30 : bucket === 'week' ? 84 : 365;
  const to = dayOf(today() - DAY);
  const from = dayOf(today() - span * DAY);
  const use = useApi(`/api/v1/districts/${district.id}/losses?period=${bucket}&from=${from}&to=${to}`, [
    bucket,
  ]);
  const data = use.data?.period === bucket ? use.data : null;
  const series = data
    ? data.periods.map((p) => ({ start: `${p.start}T00:00:00Z`, units: p.loss ? p.loss.units : '0' }))
    : [];
  return html`<section class="district" data-testid="district-loss">
    <h2>${district.name} <bdi dir="ltr">(${district.code})</bdi></h2>
    <p class="hint">
      ${t('losses.meters', { n: num(district.customerMeters) })}
      ${district.supplyPoints.map((s) => html` · ${s.name}${s.serial ? html` <bdi dir="ltr">${s.serial}</bdi>` : null}`)}
    </p>
    <div class="segmented" role="group" aria-label=${t('account.bucket')}>
      ${BUCKETS.map(
        (
          b,
        ) => html`<button type="button" class="seg" aria-pressed=${b === bucket ? 'true' : 'false'} onClick=${() => setBucket(b)}>
          ${t(`account.bucket.${b}`)}
        </button>`,
      )}
    </div>
    <${Alert}>${use.error}<//>
    ${
      data
        ? html`<${BarChart} series=${series} unit=${data.unit} bucket=${bucket} title=${t('losses.chartTitle')} />
            <${SimpleTable}
              caption=${t('losses.figures')}
              testid="loss-table"
              rows=${[...data.periods].reverse()}
              cols=${[
                [t('losses.period'), (p) => bucketLabel(`${p.start}T00:00:00Z`, bucket, true)],
                [
                  t('losses.inflow'),
                  (p) =>
                    p.inflow.units === null
                      ? '—'
                      : html`<${Quantity} units=${p.inflow.units} unit=${data.unit} />`,
                  'n',
                ],
                [
                  t('losses.billed'),
                  (p) => html`<${Quantity} units=${p.consumption.units} unit=${data.unit} />`,
                  'n',
                ],
                [
                  t('losses.loss'),
                  (p) => (p.loss ? html`<${Quantity} units=${p.loss.units} unit=${data.unit} />` : '—'),
                  'n',
                ],
                [t('losses.share'), (p) => html`<${PeriodStatus} p=${p} unit=${data.unit} />`],
                [
                  t('losses.coverage'),
                  (p) =>
                    t('losses.coverageText', {
                      covered: num(p.consumption.covered),
                      meters: num(p.consumption.meters),
                      missing: num(p.consumption.missing),
                    }),
                ],
              ]}
            />`
        : null
    }
    <p><a href=${`/#/ops/losses/${district.id}/suspicions`}>${t('losses.suspicions')}</a></p>
  </section>`;
}

export function Districts() {
  const use = useApi('/api/v1/districts');
  const districts = use.data?.districts ?? [];
  return html`<${Screen} name="losses" title=${t('losses.title')} wide=${true}>
    <${Alert}>${use.error}<//>
    ${use.data && districts.length === 0 ? html`<p>${t('losses.none')}</p>` : null}
    ${districts.map((d) => html`<${DistrictLoss} key=${d.id} district=${d} />`)}
  <//>`;
}

function Evidence({ reason, evidence, unit }) {
  if (reason === 'consumption_drop' && evidence.consumption) {
    const c = evidence.consumption;
    return html`<span>${t('losses.why.consumption_drop', {
      ratio: share(Math.round(c.ratio * 10_000)),
      neighbours: share(Math.round(c.neighboursRatio * 10_000)),
    })}
      (<${Quantity} units=${String(c.baselineDaily)} unit=${unit} /> → <${Quantity} units=${String(c.recentDaily)} unit=${unit} />)</span>`;
  }
  if (reason === 'tamper' && evidence.tamper)
    return html`<span>${t('losses.why.tamper', { n: num(evidence.tamper.events) })}</span>`;
  if (reason === 'silent' && evidence.silent)
    return html`<span>${t('losses.why.silent', { inflow: share(Math.round(evidence.silent.inflowRatio * 10_000)) })}</span>`;
  if (reason === 'purchases_stopped' && evidence.purchases)
    return html`<span>${t('losses.why.purchases_stopped', { n: num(evidence.purchases.inBaseline) })}</span>`;
  return html`<span>${t(`losses.reason.${reason}`)}</span>`;
}

function VisitButton({ visit }) {
  const task = useTask();
  const [opened, setOpened] = useState(null);
  if (opened)
    return html`<a href=${`/#/service/cases/${opened.id}`}>${t('losses.caseOpened', { n: opened.number })}</a>`;
  return html`<span>
    <button type="button" disabled=${task.busy} onClick=${() =>
      task.run(async () => setOpened(await api('POST', '/api/v1/cases', { body: visit })))}>
      ${t('losses.visit')}
    </button>
    <${Alert}>${task.error}<//>
  </span>`;
}

export function Suspicions({ params }) {
  const to = dayOf(today());
  const use = useApi(`/api/v1/districts/${params.id}/suspicions?to=${to}`);
  const data = use.data;
  return html`<${Screen} name="suspicions" title=${t('losses.suspicions')} wide=${true}>
    <${Alert}>${use.error}<//>
    ${
      data
        ? html`<p class="hint">
              ${data.district.name} ·
              ${t('losses.window', { from: data.recent.from, to: data.recent.to, baseFrom: data.baseline.from })}
            </p>
            <${SimpleTable}
              caption=${t('losses.suspicionList')}
              testid="suspicions"
              empty=${t('losses.noSuspicions')}
              rows=${data.meters}
              cols=${[
                [
                  t('losses.meter'),
                  (m) =>
                    html`<a href=${`/#/ops/losses/${params.id}/meters/${m.meterId}`}><bdi dir="ltr">${m.serial}</bdi></a>`,
                ],
                [
                  t('losses.evidence'),
                  (m) =>
                    html`<ul class="plain">
                      ${m.reasons.map(
                        (r) =>
                          html`<li><strong>${t(`losses.reason.${r}`)}</strong>: <${Evidence} reason=${r} evidence=${m.evidence} unit=${data.unit} /></li>`,
                      )}
                    </ul>`,
                ],
                [t('losses.action'), (m) => html`<${VisitButton} visit=${m.visit} />`],
              ]}
            />`
        : null
    }
  <//>`;
}

export function MeterComparison({ params }) {
  const to = dayOf(today() - DAY);
  const from = dayOf(today() - 30 * DAY);
  const use = useApi(
    `/api/v1/districts/${params.id}/meters/${params.meterId}/comparison?from=${from}&to=${to}`,
  );
  const data = use.data;
  const mine = data ? data.days.map((d) => ({ start: `${d.day}T00:00:00Z`, units: d.units ?? '0' })) : [];
  const theirs = data
    ? data.days.map((d) => ({ start: `${d.day}T00:00:00Z`, units: String(d.neighboursMedian ?? 0) }))
    : [];
  return html`<${Screen} name="loss-meter" title=${t('losses.comparison')} wide=${true}>
    <${Alert}>${use.error}<//>
    ${
      data
        ? html`<h2><bdi dir="ltr">${data.serial}</bdi></h2>
            <${BarChart} series=${mine} unit=${data.unit} bucket="day" title=${t('losses.thisMeter')} />
            <${BarChart} series=${theirs} unit=${data.unit} bucket="day" title=${t('losses.neighbours')} />
            <${SimpleTable}
              caption=${t('losses.comparison')}
              testid="comparison"
              rows=${[...data.days].reverse()}
              cols=${[
                [t('losses.period'), (d) => bucketLabel(`${d.day}T00:00:00Z`, 'day', true)],
                [
                  t('losses.thisMeter'),
                  (d) => (d.units === null ? '—' : html`<${Quantity} units=${d.units} unit=${data.unit} />`),
                  'n',
                ],
                [
                  t('losses.neighbours'),
                  (d) =>
                    d.neighboursMedian === null
                      ? '—'
                      : html`<${Quantity} units=${String(d.neighboursMedian)} unit=${data.unit} />`,
                  'n',
                ],
              ]}
            />`
        : null
    }
  <//>`;
}

export const LOSS_ROUTES = [
  { pattern: /^\/ops\/losses$/, roles: ['operator'], screen: Districts },
  { pattern: /^\/ops\/losses\/(?<id>[0-9a-f-]{36})\/suspicions$/, roles: ['operator'], screen: Suspicions },
  {
    pattern: /^\/ops\/losses\/(?<id>[0-9a-f-]{36})\/meters\/(?<meterId>[0-9a-f-]{36})$/,
    roles: ['operator'],
    screen: MeterComparison,
  },
];
