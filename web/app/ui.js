/** Shared pieces of every screen: the screen frame, form fields, alerts, tokens, quote and receipt tables. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';
import { html } from './html.js';
import { currencyName, currentLang, num, problemText, receiptDateTime, t, unitName } from './i18n.js';

/** One screen: its heading takes the focus when the screen changes, so keyboard and reader users follow. */
export function Screen({ name, title, wide = false, children }) {
  const heading = useRef(null);
  useEffect(() => {
    heading.current?.focus();
  }, [name]);
  return html`<section class=${wide ? 'screen wide' : 'screen'} data-screen=${name} aria-labelledby="screen-title">
    <h1 id="screen-title" tabindex="-1" ref=${heading}>${title}</h1>
    ${children}
  </section>`;
}

/** A labelled input with an optional hint and error, wired with aria-describedby. */
export function Field({ id, label, hint, error, ...input }) {
  const described = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(' ');
  return html`<div class="field">
    <label for=${id}>${label}</label>
    ${hint ? html`<p class="hint" id=${`${id}-hint`}>${hint}</p>` : null}
    <input
      id=${id}
      name=${id}
      aria-invalid=${error ? 'true' : undefined}
      aria-describedby=${described || undefined}
      ...${input}
    />
    ${error ? html`<p class="field-error" id=${`${id}-error`}>${error}</p>` : null}
  </div>`;
}

export function Alert({ kind = 'error', children }) {
  if (!children) return null;
  return html`<div class=${`alert ${kind}`} role=${kind === 'error' ? 'alert' : 'status'}>${children}</div>`;
}

/** An amount with its currency; digits in the reader's script, always read left to right. */
export function Money({ value, currency }) {
  return html`<span class="money"><bdi dir="ltr">${num(value)}</bdi> <bdi>${currency ? currencyName(currency) : ''}</bdi></span>`;
}

/** A 20-digit token in large grouped digits, left to right in both languages. */
export function Token({ grouped, label }) {
  return html`<figure class="token">
    <figcaption>${label ?? t('token.label')}</figcaption>
    <p class="token-digits" dir="ltr" data-testid="token">
      ${grouped.split('-').map((g, i, all) => html`<span class="group">${num(g)}${i < all.length - 1 ? '-' : ''}</span>`)}
    </p>
    <p class="hint">${t('token.enter')}</p>
  </figure>`;
}

function lineLabel(line) {
  // A block's number in the reader's digits (a receipt's own label writes it in Latin digits).
  if (line.code === 'block' && line.block !== undefined) return t('quote.block', { block: num(line.block) });
  if (line.label) return line.label[currentLang()] ?? line.label.en;
  return t(`quote.${line.code}`);
}

/**
 * Every line of a quote or receipt: what was paid, each deduction and each tariff block with its units and
 * price, then the units bought.
 */
export function QuoteLines({ lines, currency, units, unit, caption }) {
  return html`<table class="lines">
    <caption>${caption ?? t('quote.caption')}</caption>
    <thead>
      <tr><th scope="col">${t('quote.item')}</th><th scope="col" class="n">${t('quote.amount', { currency })}</th></tr>
    </thead>
    <tbody>
      ${lines.map(
        (l) => html`<tr>
          <th scope="row">
            ${lineLabel(l)}
            ${
              l.units
                ? html`<span class="sub"><bdi dir="ltr">${num(l.units)}</bdi> ${unitName(unit)} × <bdi dir="ltr">${num(l.price ?? '')}</bdi></span>`
                : null
            }
          </th>
          <td class="n"><bdi dir="ltr">${num(l.amount)}</bdi></td>
        </tr>`,
      )}
    </tbody>
    <tfoot>
      <tr>
        <th scope="row">${t('quote.units')}</th>
        <td class="n"><strong><bdi dir="ltr">${num(units)}</bdi> ${unitName(unit)}</strong></td>
      </tr>
    </tfoot>
  </table>`;
}

/**
 * The receipt the API returns (JSON), shown in the page and printable: the number a kiosk's reprint accepts
 * (the sale's first eight characters) and the sale's date and time in the utility's zone (`timeZone` for a
 * receipt issued before receipts carried their zone).
 */
export function ReceiptView({ receipt, timeZone }) {
  const r = receipt;
  const zone = r.utility.timeZone ?? timeZone;
  return html`<section class="receipt" aria-labelledby="receipt-title">
    <h2 id="receipt-title">${t('receipt.title')}</h2>
    <dl class="facts">
      <div class="whole"><dt>${t('receipt.date')}</dt><dd><bdi data-testid="receipt-date"><time datetime=${r.issuedAt}>${receiptDateTime(r.issuedAt, zone)}</time></bdi></dd></div>
      <div><dt>${t('receipt.number')}</dt><dd><bdi dir="ltr" data-testid="receipt-number">${num(r.receiptNumber.slice(0, 8).toUpperCase())}</bdi></dd></div>
      <div><dt>${t('receipt.paid')}</dt><dd><${Money} value=${r.amountPaid} currency=${r.utility.currency} /></dd></div>
      <div><dt>${t('receipt.meter')}</dt><dd><bdi dir="ltr">${num(r.meter.serial)}</bdi></dd></div>
      <div><dt>${t('receipt.account')}</dt><dd><bdi dir="ltr">${num(r.meter.accountNumber)}</bdi></dd></div>
      <div class="whole"><dt>${t('receipt.customer')}</dt><dd><bdi>${r.meter.customerName}</bdi></dd></div>
    </dl>
    <${QuoteLines}
      lines=${r.lines}
      currency=${r.utility.currency}
      units=${r.units.value}
      unit=${r.units.unit}
      caption=${t('receipt.lines')}
    />
  </section>`;
}

/** A button that shows a busy state and ignores clicks while its action runs. */
export function Submit({ busy, children, ...rest }) {
  return html`<button type="submit" class="primary" disabled=${busy} aria-busy=${busy ? 'true' : 'false'} ...${rest}>
    ${busy ? t('common.working') : children}
  </button>`;
}

/** An API error in the reader's words, or `text` when the API answered with `status` (a wrong code, say). */
export const problemTextOr = (status, text) => (err) => (err.status === status ? text : problemText(err));

/**
 * A button's or a form's work: `run(work, options)` marks it busy, clears the last error and awaits `work()`.
 * Then, in the same render as the end of busy: `show(result)` puts the result on screen; or, when it threw,
 * the error shows in words from `describe` (the run's, else the hook's, else problemText) and `failed(text)`
 * hears of it. Work that `leaves` the screen when it goes through stays busy until then.
 * Returns { busy, error, setError, run }.
 */
export function useTask(describe = problemText) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  async function run(work, { show, failed, leaves = false, describe: describeThis = describe } = {}) {
    setBusy(true);
    setError(null);
    let result;
    try {
      result = await work();
    } catch (err) {
      const text = describeThis(err);
      setError(text);
      setBusy(false);
      failed?.(text);
      return;
    }
    if (!leaves) setBusy(false);
    show?.(result);
  }
  return { busy, error, setError, run };
}

/** Loads `path` with GET (again when `path` or `deps` change, or on `reload()`): { data, error, reload }. */
export function useApi(path, deps = []) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [n, setN] = useState(0);
  const shown = useRef(path);
  useEffect(() => {
    let live = true;
    setError(null);
    // Another path (a filter changed): drop the old answer rather than show it under the new filter.
    if (shown.current !== path) {
      shown.current = path;
      setData(null);
    }
    // No path yet (a screen waiting for its query): nothing to fetch.
    if (path === null) return;
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

/** A confirmation in a modal <dialog>: focus stays inside, Escape cancels. `id` names its heading. */
export function Confirm({ id = 'confirm', open, title, children, onConfirm, onCancel, busy }) {
  const ref = useRef(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return html`<dialog ref=${ref} aria-labelledby=${`${id}-title`} onCancel=${onCancel} class="confirm">
    <h2 id=${`${id}-title`}>${title}</h2>
    ${children}
    <div class="actions">
      <button type="button" class="primary" onClick=${onConfirm} disabled=${busy}>${t('common.confirm')}</button>
      <button type="button" onClick=${onCancel}>${t('common.cancel')}</button>
    </div>
  </dialog>`;
}

/** A table with a caption, one column per [label, cell(row), class?]; `empty` (what to do next) or "nothing to show" when empty. */
export function SimpleTable({ caption, rows, cols, testid, empty }) {
  return html`<div class="table-scroll">
    <table data-testid=${testid}>
      <caption>${caption}</caption>
      <thead>
        <tr>${cols.map(([label, , cls]) => html`<th scope="col" class=${cls ?? ''}>${label}</th>`)}</tr>
      </thead>
      <tbody>
        ${rows.length === 0 ? html`<tr><td colspan=${cols.length}>${empty ?? t('common.none')}</td></tr>` : null}
        ${rows.map((r) => html`<tr>${cols.map(([, cell, cls]) => html`<td class=${cls ?? ''}>${cell(r)}</td>`)}</tr>`)}
      </tbody>
    </table>
  </div>`;
}

/** Saves a Blob as a file through a temporary link (the API's CSV needs the bearer header, so no plain href). */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
