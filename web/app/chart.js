/**
 * A meter's consumption per day, week or month, drawn as an inline SVG bar chart of our own (no chart
 * library) with the same figures in a table: the customer's meter screen and the staff's meter page both
 * show it, each from its own route with the same answer (`{unit, bucket, total, series}`).
 */
import { useState } from 'preact/hooks';
import { html } from './html.js';
import { currentLang, num, t } from './i18n.js';
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
  return html`<bdi dir="ltr">${num(q.value)} ${q.unit}</bdi>`;
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
  // Quantities are isolated left to right, so "115.0 kWh" keeps its order inside Arabic text.
  const q = (units) => `\u2066${num(quantity(units, unit).value)} ${quantity(units, unit).unit}\u2069`;
  const summary = top
    ? t(series.length === 1 ? 'account.chartSummaryOne' : 'account.chartSummary', {
        n: num(series.length),
        total: q(total),
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
            <title>${bucketLabel(s.start, bucket, true)}: ${num(quantity(s.units, unit).value)} ${quantity(s.units, unit).unit}</title>
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
  const title = t(`account.per.${bucket}`);
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
