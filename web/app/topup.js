/**
 * A customer's top-up without an account, in four screens at most: the meter number; the masked name, the
 * amount and a quote with every line; the payment page (Stripe Checkout); the token with its receipt.
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { html } from './html.js';
import { currentLang, num, problemText, t } from './i18n.js';
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

const STATE_KEY = 'rasid.topup';

function loadState() {
  try {
    return JSON.parse(sessionStorage.getItem(STATE_KEY) ?? 'null');
  } catch {
    return null;
  }
}

function saveState(state) {
  sessionStorage.setItem(STATE_KEY, JSON.stringify(state));
}

/** Screen 1: the meter number (and the utility, when this Rasid serves several). */
export function TopupMeter({ utilities, navigate }) {
  const previous = loadState();
  const [utility, setUtility] = useState(previous?.utility?.code ?? utilities[0]?.code ?? '');
  const [meter, setMeter] = useState(previous?.meter?.meter ?? '');
  const { busy, error, setError, run } = useTask(problemTextOr(404, t('topup.meterUnknown')));

  async function submit(e) {
    e.preventDefault();
    const number = latinDigits(meter).trim();
    if (number.length < 3) return setError(t('topup.meterRequired'));
    await run(
      () =>
        api('GET', `/api/v1/utilities/${encodeURIComponent(utility)}/meters/${encodeURIComponent(number)}`),
      {
        show: (found) => {
          saveState({ utility: utilities.find((u) => u.code === utility), meter: found });
          navigate('/topup/amount');
        },
      },
    );
  }

  return html`<${Screen} name="topup-meter" title=${t('topup.title')}>
    <p class="lead">${t('topup.lead')}</p>
    <form onSubmit=${submit} novalidate>
      ${
        utilities.length > 1
          ? html`<div class="field">
            <label for="utility">${t('topup.utility')}</label>
            <select id="utility" value=${utility} onChange=${(e) => setUtility(e.currentTarget.value)}>
              ${utilities.map((u) => html`<option value=${u.code}>${u.name}</option>`)}
            </select>
          </div>`
          : null
      }
      <${Field}
        id="meter"
        label=${t('topup.meter')}
        hint=${t('topup.meterHint')}
        error=${error}
        value=${meter}
        autocomplete="off"
        spellcheck="false"
        dir="ltr"
        required
        onInput=${(e) => setMeter(e.currentTarget.value)}
      />
      <${Submit} busy=${busy}>${t('common.continue')}<//>
    </form>
    <p class="account-link">${t('topup.haveAccount')} <a href="/#/account/signin">${t('nav.account')}</a></p>
  <//>`;
}

/** Screen 2: who the meter belongs to (masked), the amount, the quote with every line, then pay. */
export function TopupAmount({ navigate, notice }) {
  const state = loadState();
  const [amount, setAmount] = useState(state?.amount ?? '');
  const [quote, setQuote] = useState(null);
  const { busy, error, setError, run } = useTask();
  const [paying, setPaying] = useState(false);

  useEffect(() => {
    if (!state?.meter) navigate('/');
  }, []);
  if (!state?.meter) return null;
  const { utility, meter } = state;
  const exponent = utility.exponent;
  const presets = ['5', '10', '20', '50'];

  async function getQuote(value) {
    const parsed = parseAmount(value, exponent);
    if (parsed.error) {
      setQuote(null);
      return setError(t(`amount.${parsed.error}`, { decimals: num(exponent) }));
    }
    await run(
      () =>
        api('POST', `/api/v1/utilities/${encodeURIComponent(utility.code)}/quotes`, {
          body: { meter: meter.meter, amountMinor: parsed.minor },
        }),
      {
        show: (q) => {
          setQuote({ ...q, amountMinor: parsed.minor });
          saveState({ ...state, amount: value });
        },
        failed: () => setQuote(null),
      },
    );
  }

  async function pay() {
    setPaying(true);
    setError(null);
    try {
      const started = await api('POST', `/api/v1/utilities/${encodeURIComponent(utility.code)}/checkout`, {
        body: { meter: meter.meter, amountMinor: quote.amountMinor },
      });
      saveState({ ...state, amount, sessionId: started.sessionId });
      window.location.assign(started.url);
    } catch (err) {
      setError(problemText(err));
      setPaying(false);
    }
  }

  return html`<${Screen} name="topup-quote" title=${t('topup.amountTitle')}>
    <${Alert} kind="info">${notice}<//>
    <dl class="facts meter-facts">
      <div><dt>${t('topup.meter')}</dt><dd><bdi dir="ltr">${num(meter.meter)}</bdi></dd></div>
      <div><dt>${t('topup.holder')}</dt><dd data-testid="holder"><bdi>${meter.customerName}</bdi></dd></div>
      <div><dt>${t('topup.kind')}</dt><dd>${t(`kind.${meter.kind}`)}</dd></div>
    </dl>
    <p><a href="/#/">${t('topup.otherMeter')}</a></p>
    <form
      onSubmit=${(e) => {
        e.preventDefault();
        getQuote(amount);
      }}
      novalidate
    >
      <${Field}
        id="amount"
        label=${t('topup.amount', { currency: meter.currency })}
        hint=${t('topup.amountHint', { decimals: num(exponent) })}
        error=${error}
        value=${amount}
        inputmode="decimal"
        autocomplete="off"
        dir="ltr"
        onInput=${(e) => {
          setAmount(e.currentTarget.value);
          setQuote(null);
        }}
      />
      <div class="chips" role="group" aria-label=${t('topup.presets')}>
        ${presets.map(
          (p) => html`<button
            type="button"
            class="chip"
            onClick=${() => {
              setAmount(p);
              getQuote(p);
            }}
          >
            <${Money} value=${formatMinor(`${p}${'0'.repeat(exponent)}`, exponent)} currency=${meter.currency} />
          </button>`,
        )}
      </div>
      <${Submit} busy=${busy}>${t('topup.quote')}<//>
    </form>
    ${
      quote
        ? html`<div class="quote" aria-live="polite">
          <${QuoteLines} lines=${quote.lines} currency=${quote.currency} units=${quote.units} unit=${quote.unit} />
          <button type="button" class="primary pay" onClick=${pay} disabled=${paying} aria-busy=${paying ? 'true' : 'false'}>
            ${paying ? t('common.working') : t('topup.pay', { amount: num(quote.amountPaid), currency: quote.currency })}
          </button>
          <p class="hint">${t('topup.payHint')}</p>
        </div>`
        : null
    }
  <//>`;
}

/** The token by SMS, to a number the customer types (a few times per token at most). */
function TokenSms({ sessionId }) {
  const [phone, setPhone] = useState('');
  const [sent, setSent] = useState(null);
  const { busy, error, setError, run } = useTask(problemTextOr(429, t('topup.smsLimit')));

  async function send(e) {
    e.preventDefault();
    const number = latinDigits(phone)
      .replace(/[\s().-]/g, '')
      .replace(/^00/, '+');
    if (!/^\+[1-9]\d{6,14}$/.test(number)) return setError(t('topup.smsInvalid'));
    setSent(null);
    await run(
      () =>
        api('POST', `/api/v1/checkout/${encodeURIComponent(sessionId)}/sms`, {
          body: { phone: number, language: currentLang() },
        }),
      { show: (r) => setSent(r.to) },
    );
  }

  return html`<form class="token-sms no-print" onSubmit=${send} novalidate aria-labelledby="token-sms-title">
    <h2 id="token-sms-title">${t('topup.smsTitle')}</h2>
    <${Field}
      id="sms-phone"
      type="tel"
      label=${t('topup.smsPhone')}
      hint=${t('topup.smsHint')}
      error=${error}
      value=${phone}
      autocomplete="tel"
      inputmode="tel"
      dir="ltr"
      onInput=${(e) => setPhone(e.currentTarget.value)}
    />
    <${Alert} kind="ok">${sent ? html`${t('topup.smsSent')} <bdi dir="ltr" data-testid="sms-to">${num(sent)}</bdi>` : null}<//>
    <button type="submit" disabled=${busy} aria-busy=${busy ? 'true' : 'false'}>
      ${busy ? t('common.working') : t('topup.smsSend')}
    </button>
  </form>`;
}

/** Screen 4 (after the payment page): waits for the verified payment, then shows the token and receipt. */
export function TopupResult({ sessionId }) {
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const [waitedOut, setWaitedOut] = useState(false);
  const [copied, setCopied] = useState(false);

  useEffect(() => {
    let stopped = false;
    let timer;
    let tries = 0;
    async function poll() {
      try {
        const r = await api('GET', `/api/v1/checkout/${encodeURIComponent(sessionId)}`);
        if (stopped) return;
        setResult(r);
        if (r.vendId || r.status === 'failed') return;
      } catch (err) {
        if (stopped) return;
        if (err.status === 404) return setError(t('topup.unknownPayment'));
      }
      tries += 1;
      if (tries >= 90) return setWaitedOut(true);
      timer = setTimeout(poll, 1000);
    }
    poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [sessionId]);

  const receipt = result?.receipt;
  const grouped = receipt?.tokenGrouped ?? null;

  async function copy() {
    try {
      await navigator.clipboard.writeText(result.token);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  }

  return html`<${Screen} name="topup-token" title=${receipt ? t('topup.doneTitle') : t('topup.waitTitle')}>
    <${Alert}>${error}<//>
    ${
      !receipt && !error
        ? html`<p class="lead" role="status" aria-live="polite">
          ${waitedOut ? t('topup.stillWaiting') : t('topup.waiting')}
        </p>`
        : null
    }
    ${
      receipt
        ? html`${
            grouped
              ? html`<${Token} grouped=${grouped} />
                <div class="actions no-print">
                  <button type="button" onClick=${copy}>${copied ? t('token.copied') : t('token.copy')}</button>
                  <button type="button" onClick=${() => window.print()}>${t('receipt.print')}</button>
                </div>
                <${TokenSms} sessionId=${sessionId} />`
              : html`<p class="lead">${t('topup.creditAdded')}</p>`
          }
          <${ReceiptView} receipt=${receipt} timeZone=${loadState()?.utility?.timezone} />
          <p class="no-print">
            <a
              data-testid="receipt-pdf"
              href=${`/api/v1/checkout/${encodeURIComponent(sessionId)}/receipt?lang=${currentLang()}`}
              target="_blank"
              rel="noopener"
              >${t('topup.receiptPdf')}</a
            >
          </p>
          <p class="no-print"><a class="button" href="/">${t('topup.again')}</a></p>`
        : null
    }
  <//>`;
}
