/**
 * The vendor kiosk: sign in with the kiosk's API key, sell for cash (meter, amount, quote, confirm, token
 * in large digits, 80 mm receipt), reprint, today's sales and float, and the end-of-day reconciliation.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, newIdempotencyKey } from './api.js';
import { html } from './html.js';
import { currentDigits, currentLang, dateTime, num, problemText, t, todayIn } from './i18n.js';
import { formatMinor, latinDigits, parseAmount } from './money.js';
import {
  Alert,
  Field,
  Money,
  problemTextOr,
  QuoteLines,
  ReceiptView,
  Screen,
  Submit,
  Token,
  useTask,
} from './ui.js';

const SALES_KEY = 'rasid.kiosk.sales';

function tillSales() {
  try {
    return JSON.parse(localStorage.getItem(SALES_KEY) ?? '[]');
  } catch {
    return [];
  }
}

function rememberSale(sale) {
  localStorage.setItem(SALES_KEY, JSON.stringify([sale, ...tillSales()].slice(0, 200)));
}

/** Sign-in with the kiosk's API key (kept for this browser tab only). */
export function KioskSignIn({ signIn }) {
  const [key, setKey] = useState('');
  const { busy, error, setError, run } = useTask(problemTextOr(401, t('kiosk.keyWrong')));

  async function submit(e) {
    e.preventDefault();
    if (!key.trim()) return setError(t('kiosk.keyRequired'));
    await run(() => signIn({ kind: 'key', key: key.trim() }, '/kiosk'), { leaves: true });
  }

  return html`<${Screen} name="kiosk-signin" title=${t('kiosk.signInTitle')}>
    <p class="lead">${t('kiosk.signInLead')}</p>
    <form onSubmit=${submit} novalidate>
      <${Field}
        id="kiosk-key"
        type="password"
        label=${t('kiosk.key')}
        hint=${t('kiosk.keyHint')}
        error=${error}
        value=${key}
        autocomplete="off"
        dir="ltr"
        onInput=${(e) => setKey(e.currentTarget.value)}
      />
      <${Submit} busy=${busy}>${t('auth.signIn')}<//>
    </form>
    <p><a href="/#/signin">${t('kiosk.staffInstead')}</a></p>
  <//>`;
}

/** The 80 mm receipt as the API renders it, in a frame, with a print button. */
export function PrintableReceipt({ vendId }) {
  const frame = useRef(null);
  const [doc, setDoc] = useState(null);
  const [error, setError] = useState(null);
  const lang = currentLang();
  const digits = currentDigits();
  useEffect(() => {
    setDoc(null);
    api('GET', `/api/v1/vends/${vendId}/receipt?format=80mm&lang=${lang}&digits=${digits}`, {
      as: 'text',
    }).then(setDoc, (err) => setError(problemText(err)));
  }, [vendId, lang, digits]);
  return html`<div class="printable">
    <${Alert}>${error}<//>
    ${
      doc
        ? html`<iframe ref=${frame} class="receipt-80mm" title=${t('receipt.frameTitle')} srcdoc=${doc}></iframe>
          <button type="button" onClick=${() => frame.current?.contentWindow?.print()}>${t('receipt.print')}</button>`
        : null
    }
  </div>`;
}

function FloatCard({ who, refresh }) {
  const [float, setFloat] = useState(null);
  useEffect(() => {
    api('GET', `/api/v1/vendors/${who.vendorId}/float`).then(setFloat, () => setFloat(null));
  }, [who.vendorId, refresh]);
  if (!float) return null;
  const exp = who.utility.exponent;
  return html`<dl class="facts float" aria-label=${t('kiosk.float')}>
    <div><dt>${t('kiosk.float')}</dt><dd><${Money} value=${float.float} currency=${float.currency} /></dd></div>
    <div>
      <dt>${t('kiosk.available')}</dt>
      <dd data-testid="available"><${Money} value=${formatMinor(float.availableMinor, exp)} currency=${float.currency} /></dd>
    </div>
  </dl>`;
}

/** Sell: meter and cash amount → quote → confirm → token and receipt. */
export function KioskSell({ who }) {
  const utility = who.utility;
  const [meter, setMeter] = useState('');
  const [amount, setAmount] = useState('');
  const [quote, setQuote] = useState(null);
  const [sale, setSale] = useState(null);
  const { busy, error, setError, run } = useTask();
  const [sold, setSold] = useState(0);

  async function getQuote(e) {
    e.preventDefault();
    const number = latinDigits(meter).trim();
    if (number.length < 3) return setError(t('topup.meterRequired'));
    const parsed = parseAmount(amount, utility.exponent);
    if (parsed.error) return setError(t(`amount.${parsed.error}`, { decimals: num(utility.exponent) }));
    await run(
      () =>
        api('POST', `/api/v1/utilities/${encodeURIComponent(utility.code)}/quotes`, {
          body: { meter: number, amountMinor: parsed.minor },
        }),
      {
        // One key per confirmed quote: a retry after a lost answer cannot sell twice.
        show: (q) => setQuote({ ...q, amountMinor: parsed.minor, key: newIdempotencyKey() }),
        describe: problemTextOr(404, t('topup.meterUnknown')),
      },
    );
  }

  const confirm = () =>
    run(
      () =>
        api('POST', '/api/v1/vends', {
          body: { meter: quote.meter, amountMinor: quote.amountMinor },
          headers: { 'idempotency-key': quote.key },
        }),
      {
        show: (out) => {
          rememberSale({
            vendId: out.vendId,
            meter: quote.meter,
            amount: quote.amountPaid,
            currency: quote.currency,
            at: new Date().toISOString(),
          });
          setSale(out);
          setSold((n) => n + 1);
        },
      },
    );

  function next() {
    setMeter('');
    setAmount('');
    setQuote(null);
    setSale(null);
    setError(null);
  }

  if (sale) {
    return html`<${Screen} name="kiosk-token" title=${t('kiosk.soldTitle')}>
      <div class="slip">
        ${
          sale.tokenGrouped
            ? html`<${Token} grouped=${sale.tokenGrouped} />`
            : html`<p class="lead">${t('topup.creditAdded')}</p>`
        }
        <${ReceiptView} receipt=${sale.receipt} timeZone=${utility.timezone} />
      </div>
      <div class="actions">
        <button type="button" class="primary" onClick=${next}>${t('kiosk.newSale')}</button>
        <button type="button" onClick=${() => window.print()}>${t('receipt.print')}</button>
      </div>
    <//>`;
  }

  return html`<${Screen} name="kiosk-sell" title=${t('kiosk.sellTitle')}>
    <p class="who">${who.vendorName} · ${who.name}</p>
    <${FloatCard} who=${who} refresh=${sold} />
    <form onSubmit=${getQuote} novalidate>
      <${Field}
        id="sell-meter"
        label=${t('topup.meter')}
        value=${meter}
        autocomplete="off"
        spellcheck="false"
        dir="ltr"
        disabled=${quote !== null}
        onInput=${(e) => setMeter(e.currentTarget.value)}
      />
      <${Field}
        id="sell-amount"
        label=${t('kiosk.cash', { currency: utility.currency })}
        hint=${t('topup.amountHint', { decimals: num(utility.exponent) })}
        value=${amount}
        inputmode="decimal"
        autocomplete="off"
        dir="ltr"
        disabled=${quote !== null}
        onInput=${(e) => setAmount(e.currentTarget.value)}
      />
      <${Alert}>${error}<//>
      ${quote ? null : html`<${Submit} busy=${busy}>${t('topup.quote')}<//>`}
    </form>
    ${
      quote
        ? html`<div class="quote">
          <dl class="facts">
            <div><dt>${t('topup.holder')}</dt><dd data-testid="holder"><bdi>${quote.customerName}</bdi></dd></div>
          </dl>
          <${QuoteLines} lines=${quote.lines} currency=${quote.currency} units=${quote.units} unit=${quote.unit} />
          <div class="actions">
            <button type="button" class="primary" onClick=${confirm} disabled=${busy} aria-busy=${busy ? 'true' : 'false'}>
              ${busy ? t('common.working') : t('kiosk.confirm', { amount: num(quote.amountPaid), currency: quote.currency })}
            </button>
            <button type="button" onClick=${() => setQuote(null)} disabled=${busy}>${t('common.change')}</button>
          </div>
        </div>`
        : null
    }
  <//>`;
}

function useReconciliation(who, day) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    setData(null);
    api('GET', `/api/v1/vendors/${who.vendorId}/reconciliation?from=${day}&to=${day}`).then(setData, (err) =>
      setError(problemText(err)),
    );
  }, [who.vendorId, day]);
  return { data, error };
}

function sum(rows, field) {
  return rows.reduce((acc, r) => acc + BigInt(r[field]), 0n).toString();
}

/** Today's sales and float, this till's recent sales, and reprints. */
export function KioskSales({ who }) {
  const tz = who.utility.timezone;
  const exp = who.utility.exponent;
  const cur = who.utility.currency;
  const today = todayIn(tz);
  const { data, error } = useReconciliation(who, today);
  const [reprint, setReprint] = useState(null);
  const [receiptNo, setReceiptNo] = useState('');
  const [lookupError, setLookupError] = useState(null);
  const sales = tillSales().filter((s) => todayIn(tz) === todayInAt(s.at, tz));

  function reprintByNumber(e) {
    e.preventDefault();
    // The 8 characters printed on the receipt (the API finds the sale by them), or a sale's full id.
    const id = latinDigits(receiptNo).trim().toLowerCase();
    if (!/^([0-9a-f]{8}|[0-9a-f-]{36})$/.test(id)) return setLookupError(t('kiosk.receiptNoFormat'));
    setLookupError(null);
    setReprint(id);
  }

  const rows = data?.days ?? [];
  return html`<${Screen} name="kiosk-sales" title=${t('kiosk.salesTitle')}>
    <p class="who">${who.vendorName} · ${who.name} · <bdi dir="ltr">${num(today)}</bdi></p>
    <${FloatCard} who=${who} refresh=${0} />
    <${Alert}>${error}<//>
    ${
      data
        ? html`<dl class="facts totals">
          <div><dt>${t('kiosk.salesCount')}</dt><dd data-testid="sales-count">${num(rows.reduce((a, r) => a + r.sales, 0))}</dd></div>
          <div><dt>${t('kiosk.salesAmount')}</dt><dd><${Money} value=${formatMinor(sum(rows, 'salesMinor'), exp)} currency=${cur} /></dd></div>
          <div><dt>${t('kiosk.commission')}</dt><dd><${Money} value=${formatMinor(sum(rows, 'commissionMinor'), exp)} currency=${cur} /></dd></div>
        </dl>`
        : null
    }
    <h2>${t('kiosk.tillSales')}</h2>
    ${
      sales.length === 0
        ? html`<p data-testid="empty">${t('kiosk.noSales')} <a href="/#/kiosk">${t('kiosk.sellNow')}</a></p>`
        : html`<ul class="sales">
          ${sales.map(
            (s) => html`<li>
              <span><bdi dir="ltr">${num(s.meter)}</bdi></span>
              <${Money} value=${s.amount} currency=${s.currency} />
              <span class="hint">${dateTime(s.at, tz)}</span>
              <button type="button" onClick=${() => setReprint(s.vendId)} aria-label=${t('kiosk.reprintOf', { meter: s.meter })}>
                ${t('kiosk.reprint')}
              </button>
            </li>`,
          )}
        </ul>`
    }
    <form onSubmit=${reprintByNumber} novalidate class="inline">
      <${Field}
        id="receipt-no"
        label=${t('kiosk.receiptNo')}
        hint=${t('kiosk.receiptNoHint')}
        error=${lookupError}
        value=${receiptNo}
        dir="ltr"
        autocomplete="off"
        onInput=${(e) => setReceiptNo(e.currentTarget.value)}
      />
      <button type="submit">${t('kiosk.reprint')}</button>
    </form>
    ${
      reprint
        ? html`<section aria-labelledby="reprint-title">
          <h2 id="reprint-title">${t('kiosk.reprintTitle')}</h2>
          <${PrintableReceipt} vendId=${reprint} />
        </section>`
        : null
    }
  <//>`;
}

function todayInAt(iso, timeZone) {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date(iso));
}

/** End of day: the day's sales per till, the cash that should be in the drawer, and what was counted. */
export function KioskClose({ who }) {
  const tz = who.utility.timezone;
  const exp = who.utility.exponent;
  const cur = who.utility.currency;
  const [day, setDay] = useState(todayIn(tz));
  const { data, error } = useReconciliation(who, day);
  const [counted, setCounted] = useState('');
  const [csvError, setCsvError] = useState(null);
  const rows = data?.days ?? [];
  const expected = (BigInt(sum(rows, 'salesMinor')) - BigInt(sum(rows, 'reversalsMinor'))).toString();
  const parsed = counted ? parseAmount(counted, exp) : null;
  const countedMinor = parsed?.minor ?? (parsed?.error === 'zero' ? '0' : null);
  const difference = countedMinor !== null ? (BigInt(countedMinor) - BigInt(expected)).toString() : null;

  async function downloadCsv() {
    setCsvError(null);
    try {
      const blob = await api(
        'GET',
        `/api/v1/vendors/${who.vendorId}/reconciliation?from=${day}&to=${day}&format=csv`,
        {
          as: 'blob',
        },
      );
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = `reconciliation-${day}.csv`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (err) {
      setCsvError(problemText(err));
    }
  }

  return html`<${Screen} name="kiosk-close" title=${t('kiosk.closeTitle')}>
    <p class="who">${who.vendorName} · ${who.name}</p>
    <div class="field">
      <label for="close-day">${t('kiosk.day')}</label>
      <input id="close-day" type="date" value=${day} max=${todayIn(tz)} onChange=${(e) => setDay(e.currentTarget.value || todayIn(tz))} />
    </div>
    <${Alert}>${error || csvError}<//>
    ${
      data
        ? html`<h2>${t('kiosk.perTill')}</h2>
          ${rows.length === 0 ? html`<p data-testid="empty">${t('kiosk.noSales')} <a href="/#/kiosk">${t('kiosk.sellNow')}</a></p>` : null}
          ${rows.map(
            (r) => html`<section class="till" aria-label=${r.kiosk ?? t('kiosk.noTill')}>
              <h3>${r.kiosk ?? t('kiosk.noTill')}</h3>
              <dl class="facts">
                <div><dt>${t('kiosk.salesCount')}</dt><dd>${num(r.sales)}</dd></div>
                <div><dt>${t('kiosk.salesAmount')}</dt><dd><${Money} value=${formatMinor(r.salesMinor, exp)} currency=${cur} /></dd></div>
                <div><dt>${t('kiosk.reversals')}</dt><dd><${Money} value=${formatMinor(r.reversalsMinor, exp)} currency=${cur} /></dd></div>
                <div><dt>${t('kiosk.commission')}</dt><dd><${Money} value=${formatMinor(r.commissionMinor, exp)} currency=${cur} /></dd></div>
                <div><dt>${t('kiosk.topups')}</dt><dd><${Money} value=${formatMinor(r.topupsMinor, exp)} currency=${cur} /></dd></div>
              </dl>
            </section>`,
          )}
        <dl class="facts totals">
          <div><dt>${t('kiosk.expectedCash')}</dt><dd data-testid="expected-cash"><${Money} value=${formatMinor(expected, exp)} currency=${cur} /></dd></div>
        </dl>
        <${Field}
          id="counted"
          label=${t('kiosk.counted', { currency: cur })}
          value=${counted}
          inputmode="decimal"
          autocomplete="off"
          dir="ltr"
          error=${parsed?.error && parsed.error !== 'zero' ? t(`amount.${parsed.error}`, { decimals: num(exp) }) : null}
          onInput=${(e) => setCounted(e.currentTarget.value)}
        />
        ${
          difference !== null
            ? html`<p class=${`balance-result ${difference === '0' ? 'ok' : 'off'}`} role="status" data-testid="difference">
              ${
                difference === '0'
                  ? t('kiosk.balanced')
                  : html`${t(difference.startsWith('-') ? 'kiosk.short' : 'kiosk.over')}${' '}
                      <${Money} value=${formatMinor(difference.replace('-', ''), exp)} currency=${cur} />`
              }
            </p>`
            : null
        }
        <div class="actions no-print">
          <button type="button" onClick=${downloadCsv}>${t('common.csv')}</button>
          <button type="button" onClick=${() => window.print()}>${t('common.print')}</button>
        </div>`
        : null
    }
  <//>`;
}
