/**
 * After an online top-up, the customer may have the receipt e-mailed (PDF attached) or the token sent by SMS
 * to an address they type on the return page. The Checkout key in the return address is the key, as for
 * reading the token itself; each message goes through the notifications outbox with one dedup key per send
 * (`receipt_email:<vend>:<n>`, `token_sms:<vend>:<n>`), so the number of sends per sale is bounded and two
 * requests racing for the same slot write one row.
 */
import { RasidError } from '../errors.ts';
import { notify } from '../notify/audience.ts';
import type { Queryable } from '../store/ledger.ts';
import type { Language } from '../store/schema.ts';
import { byCheckoutKey } from './queries.ts';

/** How many messages under this dedup-key prefix are already in the outbox (each send takes the next number). */
async function sentSoFar(db: Queryable, prefix: string): Promise<number> {
  const sent = await db
    .selectFrom('notifications_outbox')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('dedup_key', 'like', `${prefix}%`)
    .executeTakeFirstOrThrow();
  return Number(sent.n);
}

/** A customer's request to e-mail the receipt of the top-up a Checkout key names. */
export interface ReceiptEmail {
  readonly key: string;
  readonly email: string;
  readonly language: Language;
  /** The address of the receipt PDF of a payment, as the customer's browser reaches Rasid. */
  readonly receiptUrl: (paymentId: string) => string;
}

/**
 * Queues the receipt of a paid top-up by e-mail (template `vend_receipt`, the PDF attached by the outbox),
 * 3 times per sale at most; returns how many sends are left. `not_found` until the payment has a vend,
 * `rate_limited` after the third send or while another send of the same slot is on its way.
 */
export async function emailCheckoutReceipt(db: Queryable, req: ReceiptEmail): Promise<{ left: number }> {
  const key = req.key;
  const sale = await db
    .selectFrom('payments as p')
    .innerJoin('vends as v', 'v.id', 'p.vend_id')
    .select(['p.id as payment_id', 'v.id', 'v.utility_id', 'v.receipt', 'v.token', 'v.status'])
    .where((eb) => byCheckoutKey(eb, key))
    .executeTakeFirst();
  if (!sale) throw new RasidError('not_found', `checkout ${key} has no receipt (yet)`);
  const prefix = `receipt_email:${sale.id}:`;
  const n = await sentSoFar(db, prefix);
  if (n >= 3) throw new RasidError('rate_limited', `the receipt was already e-mailed ${n} times`);
  const r = sale.receipt as {
    receiptNumber: string;
    meter: { serial: string };
    amountPaid: string;
    utility: { currency: string };
    units: { value: string; unit: 'kWh' | 'm³' };
  };
  const [id = null] = await notify(db, {
    utilityId: sale.utility_id,
    to: { channel: 'email', recipient: req.email, language: req.language },
    template: 'vend_receipt',
    payload: {
      receiptNumber: r.receiptNumber.slice(0, 8).toUpperCase(),
      meterSerial: r.meter.serial,
      amountPaid: r.amountPaid,
      currency: r.utility.currency.trim(),
      units: r.units.value,
      unit: r.units.unit,
      token: sale.status === 'completed' ? sale.token : null,
      vendId: sale.id,
      receiptUrl: req.receiptUrl(sale.payment_id),
    },
    dedupKey: `${prefix}${n + 1}`,
  });
  if (id === null) throw new RasidError('rate_limited', 'another e-mail of this receipt is on its way');
  return { left: 2 - n };
}

/** A customer's request to have the token of the top-up a Checkout key names sent by SMS. */
export interface TokenSms {
  readonly key: string;
  /** E.164, as the route normalised it. */
  readonly phone: string;
  readonly language: Language;
  /** SMS of one token at most. */
  readonly maxPerToken: number;
  /** The address of the receipt PDF of a payment, as the customer's browser reaches Rasid. */
  readonly receiptUrl: (paymentId: string) => string;
}

/**
 * Queues the token of a paid top-up by SMS (template `token_delivery`, in the language the customer reads
 * the page in), `maxPerToken` times per token at most; returns how many sends are left. `not_found` until the
 * payment has a vend, `conflict` when the vend has no token (failed or reversed), `rate_limited` after the
 * last send or while another send of the same slot is on its way.
 */
export async function smsCheckoutToken(db: Queryable, req: TokenSms): Promise<{ left: number }> {
  const vend = await db
    .selectFrom('payments as p')
    .innerJoin('vends as v', 'v.id', 'p.vend_id')
    .innerJoin('meters as m', 'm.id', 'v.meter_id')
    .select([
      'v.id',
      'v.utility_id',
      'v.token',
      'v.receipt',
      'v.status',
      'm.serial',
      'm.kind',
      'p.id as payment_id',
    ])
    .where((eb) => byCheckoutKey(eb, req.key))
    .executeTakeFirst();
  if (!vend) throw new RasidError('not_found', `checkout ${req.key} has no token (yet)`);
  if (vend.token === null || vend.status !== 'completed') {
    throw new RasidError('conflict', 'this top-up has no token to send');
  }
  const prefix = `token_sms:${vend.id}:`;
  const n = await sentSoFar(db, prefix);
  if (n >= req.maxPerToken) throw new RasidError('rate_limited', `the token was already sent ${n} times`);
  const units = (vend.receipt as { units?: { value?: unknown } }).units?.value;
  const [id = null] = await notify(db, {
    utilityId: vend.utility_id,
    to: { channel: 'sms', recipient: req.phone, language: req.language },
    template: 'token_delivery',
    payload: {
      meterSerial: vend.serial,
      token: vend.token,
      units: typeof units === 'string' ? units : '0',
      unit: vend.kind === 'water' ? 'm³' : 'kWh',
      receiptUrl: req.receiptUrl(vend.payment_id),
    },
    // One key per send: two requests racing for the same slot write one row.
    dedupKey: `${prefix}${n + 1}`,
  });
  if (id === null) throw new RasidError('rate_limited', 'another SMS of this token is on its way');
  return { left: req.maxPerToken - n - 1 };
}
