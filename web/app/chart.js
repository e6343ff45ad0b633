/**
 * A meter's consumption per day, week or month, drawn as an inline SVG bar chart of our own (no chart
 * library) with the same figures in a table: the customer's meter screen and the staff's meter page both
 * show it, each from its own route with the same answer (`{unit, bucket, total, series}`).
 */
import { useState } from 'preact/hooks';
import { html } from './html.js';
import { currentLang, num, t, unitName } from './i18n.js';
import { formatMinor } from './money.js';
import { Alert, useApi } from './ui.js';

/** Wh or litres (a string of digits) → kWh with one decimal, or m³ with three; never through a float. */
export function quantity(units, unit) {
  const raw = String(units ?? '0');
  if (unit === 'L') return { value: formatMinor(raw, 3), unit: 'm³' };
  const negative = raw.startsWith('-');
  const tenths = (BigInt(negative ? raw.slice(1) : raw) / 100n).toString();
  return { value: `${negative ? '-' : ''}${formatMinor(tenths, 1)}`, unit: 'kWh' };
}

/** A quantity in kWh or m³, read left to right in both languages. */
export function Quantity({ units, unit }) {
  const q = quantity(units, unit);
  // The figure reads left to right; the unit is a word of the reader's language after it.
  return html`<span class="quantity"><bdi dir="ltr">${num(q.value)}</bdi> <bdi>${unitName(q.unit)}</bdi></span>`;
}

export const BUCKETS = ['day', 'week', 'month'];

export function bucketLabel(iso, bucket, long = false) {
  const d = new Date(iso);
  const locale = currentLang() === 'ar' ? 'ar-u-nu-latn' : 'en-GB';
  const opts =
    bucket === 'month'
      ? { month: long ? 'long' : 'short', year: 'numeric', timeZone: 'UTC' }
      : { day: 'numeric', month: 'short', ...(long ? { year: 'numeric' } : {}), timeZone: 'UTC' };
  return num(new Intl.DateTimeFormat(locale, opts).format(d));
}

/**
 * Bars of use per bucket as inline SVG, oldest first in reading order (from the right in Arabic). The
 * picture is one image with a summary for screen readers; the figures themselves are in the table after it.
 */
export function BarChart({ series, unit, bucket, title }) {
  // Drawn at about the size of a phone's column, so its labels stay legible there.
  const W = 360;
  const H = 200;
  // Room at the sides for the first and last date, centred under their bars.
  const pad = { top: 12, bottom: 28, side: 22 };
  const rtl = currentLang() === 'ar';
  const values = series.map((s) => Number(s.units));
  const max = Math.max(1, ...values);
  const n = Math.max(series.length, 1);
  const slot = (W - pad.side * 2) / n;
  const bar = Math.max(2, Math.min(48, slot * 0.7));
  const plot = H - pad.top - pad.bottom;
  const every = Math.ceil(n / 5);
  const top = series.reduce((a, s) => (a === null || Number(s.units) > Number(a.units) ? s : a), null);
  const total = series.reduce((a, s) => a + BigInt(s.units), 0n);
  // A figure then its unit: digits keep their order in Arabic text, and the unit is a word of the reader's.
  const q = (units) => `${num(quantity(units, unit).value)} ${unitName(quantity(units, unit).unit)}`;
  // Said as a person would: the total over the period shown, then the busiest day, week or month.
  const summary = top
    ? series.length === 1
      ? t('account.chartSummaryOne', { total: q(total), when: bucketLabel(top.start, bucket, true) })
      : t(`account.chartSummary.${bucket}`, {
          total: q(total),
          from: bucketLabel(series[0].start, bucket, true),
          to: bucketLabel(series.at(-1).start, bucket, true),
          max: q(top.units),
          when: bucketLabel(top.start, bucket, true),
        })
    : t('account.noReadings');
  return html`<figure class="chart">
    <svg
      viewBox=${`0 0 ${W} ${H}`}
      role="img"
      aria-label=${`${title}. ${summary}`}
      preserveAspectRatio="xMidYMid meet"
      data-testid="chart"
    >
      <line class="axis" x1=${pad.side} x2=${W - pad.side} y1=${H - pad.bottom} y2=${H - pad.bottom} />
      ${series.map((s, i) => {
        const h = (Number(s.units) / max) * plot;
        const center = pad.side + slot * i + slot / 2;
        const x = rtl ? W - center : center;
        return html`<g>
          <rect class="bar" x=${x - bar / 2} y=${H - pad.bottom - h} width=${bar} height=${Math.max(h, 0.5)} rx="2">
            <title>${bucketLabel(s.start, bucket, true)}: ${q(s.units)}</title>
          </rect>
          ${
            i % every === 0
              ? html`<text class="tick" x=${x} y=${H - pad.bottom + 17} text-anchor="middle">${bucketLabel(s.start, bucket)}</text>`
              : null
          }
        </g>`;
      })}
    </svg>
    <figcaption class="hint">${summary}</figcaption>
  </figure>`;
}

/**
 * The bucket switch (day, week, month as `aria-pressed` buttons), the total, the chart and its figures, from
 * `path` + `?bucket=`. `heading` is the level of the period's heading under the screen's own headings.
 */
export function Consumption({ path, heading = 'h2' }) {
  const [bucket, setBucket] = useState('day');
  const use = useApi(`${path}?bucket=${bucket}`);
  const data = use.data?.bucket === bucket ? use.data : null;
  // The heading counts what is drawn: a period of 31 days is not called "the last 30 days".
  const title =
    data && data.series.length > 1
      ? t(`account.span.${bucket}`, { n: num(data.series.length) })
      : t(`account.per.${bucket}`);
  return html`<div class="consumption-view">
    <div class="segmented" role="group" aria-label=${t('account.bucket')}>
      ${BUCKETS.map(
        (b) => html`<button
          type="button"
          class="seg"
          aria-pressed=${b === bucket ? 'true' : 'false'}
          data-bucket=${b}
          onClick=${() => setBucket(b)}
        >
          ${t(`account.bucket.${b}`)}
        </button>`,
      )}
    </div>
    <${Alert}>${use.error}<//>
    ${
      data
        ? html`<${heading}>${title}<//>
          <p data-testid="consumption-total">
            ${t('account.total')}: <strong><${Quantity} units=${data.total} unit=${data.unit} /></strong>
          </p>
          ${
            data.series.length === 0
              ? html`<p>${t('account.noReadings')}</p>`
              : html`<${BarChart} series=${data.series} unit=${data.unit} bucket=${bucket} title=${title} />
                <details class="figures">
                  <summary>${t('account.figures')}</summary>
                  <table class="consumption" data-testid="consumption-table">
                    <thead>
                      <tr>
                        <th scope="col">${t(`account.bucket.${bucket}`)}</th>
                        <th scope="col" class="n">${t('account.use')}</th>
                      </tr>
                    </thead>
                    <tbody>
                      ${data.series.map(
                        (s) => html`<tr>
                          <th scope="row">${bucketLabel(s.start, bucket, true)}</th>
                          <td class="n"><${Quantity} units=${s.units} unit=${data.unit} /></td>
                        </tr>`,
                      )}
                    </tbody>
                  </table>
                </details>`
          }`
        : use.error
          ? null
          : html`<p class="loading" role="status">${t('common.loading')}</p>`
    }
  </div>`;
}

/**
 * Counts side by side per bucket (the contact centre's cases received and closed, or calls answered and
 * abandoned), as inline SVG with one colour per measure and a legend; the figures are in the table the
 * screen shows after it. `measures` is `[{ key, label, value(row) }]`; `series` rows carry `key` (the
 * bucket's first day, YYYY-MM-DD).
 */
export function CountBars({ series, measures, bucket, title }) {
  const W = 360;
  const H = 200;
  const pad = { top: 12, bottom: 28, side: 22 };
  const rtl = currentLang() === 'ar';
  const max = Math.max(1, ...series.flatMap((s) => measures.map((m) => m.value(s))));
  const n = Math.max(series.length, 1);
  const slot = (W - pad.side * 2) / n;
  const bar = Math.max(2, Math.min(20, (slot * 0.8) / measures.length));
  const plot = H - pad.top - pad.bottom;
  const every = Math.ceil(n / 5);
  const totals = measures.map((m) => `${m.label}: ${num(series.reduce((a, s) => a + m.value(s), 0))}`);
  const summary = series.length === 0 ? t('common.none') : totals.join(' · ');
  return html`<figure class="chart">
    <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${`${title}. ${summary}`} preserveAspectRatio="xMidYMid meet" data-testid="kpi-chart">
      <line class="axis" x1=${pad.side} x2=${W - pad.side} y1=${H - pad.bottom} y2=${H - pad.bottom} />
      ${series.map((s, i) => {
        const center = pad.side + slot * i + slot / 2;
        const x0 = rtl ? W - center : center;
        const start = `${s.key}T00:00:00Z`;
        return html`<g>
          ${measures.map((m, j) => {
            const h = (m.value(s) / max) * plot;
            const offset = (j - (measures.length - 1) / 2) * bar * (rtl ? -1 : 1);
            return html`<rect class=${`bar measure-${j}`} x=${x0 + offset - bar / 2} y=${H - pad.bottom - h} width=${bar} height=${Math.max(h, 0.5)} rx="1">
              <title>${bucketLabel(start, bucket, true)} · ${m.label}: ${num(m.value(s))}</title>
            </rect>`;
          })}
          ${i % every === 0 ? html`<text class="tick" x=${x0} y=${H - pad.bottom + 17} text-anchor="middle">${bucketLabel(start, bucket)}</text>` : null}
        </g>`;
      })}
    </svg>
    <figcaption class="hint">
      ${measures.map((m, j) => html`<span class="legend"><span class=${`swatch measure-${j}`} aria-hidden="true"></span>${m.label}</span> `)}
      <span>${summary}</span>
    </figcaption>
  </figure>`;
}
