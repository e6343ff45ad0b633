/**
 * Receipts by e-mail with the PDF attached, through the same SMTP settings and the same notifications
 * outbox as every other e-mail (so a receipt is sent once, retried with backoff, and visible in the outbox).
 * It sits in the outbox's `email` slot in front of the plain e-mail channel: a `vend_receipt` row naming a
 * sale is rendered to an A4 PDF in the row's language and attached; every other e-mail goes on unchanged.
 */
import type { Kysely } from 'kysely';
import type { Transporter } from 'nodemailer';
import {
  type Channel,
  type Delivery,
  DeliveryError,
  type SmtpOptions,
  sendDeliveryMail,
  smtpTransport,
} from '../notify/channels.ts';
import type { Database, VendId } from '../store/schema.ts';
import type { Receipt } from '../vending/receipt.ts';
import { receiptNumber } from './format.ts';
import { renderReceiptPdf } from './receipt-pdf.ts';

export interface ReceiptEmailOptions {
  readonly db: Kysely<Database>;
  readonly smtp: SmtpOptions;
  /** The plain e-mail channel every other message goes through. */
  readonly inner: Channel;
}

export class ReceiptEmailChannel implements Channel {
  readonly #db: Kysely<Database>;
  readonly #inner: Channel;
  readonly #from: string;
  readonly #transport: Transporter;

  constructor(options: ReceiptEmailOptions) {
    this.#db = options.db;
    this.#inner = options.inner;
    this.#from = options.smtp.from;
    this.#transport = smtpTransport(options.smtp);
  }

  async deliver(d: Delivery): Promise<void> {
    const vendId = d.template === 'vend_receipt' ? d.payload.vendId : undefined;
    if (typeof vendId !== 'string') {
      await this.#inner.deliver(d);
      return;
    }
    const row = await this.#db
      .selectFrom('vends as v')
      .innerJoin('utilities as u', 'u.id', 'v.utility_id')
      .select(['v.receipt', 'v.status', 'u.timezone'])
      .where('v.id', '=', vendId as VendId)
      .where('v.utility_id', '=', d.utilityId)
      .executeTakeFirst();
    if (!row) throw new DeliveryError(`no sale ${vendId} for this receipt e-mail`, true);
    const receipt = { ...(row.receipt as unknown as Receipt), status: row.status };
    const pdf = await renderReceiptPdf(receipt, { size: 'a4', lang: d.language, timeZone: row.timezone });
    await sendDeliveryMail(this.#transport, this.#from, d, [
      {
        filename: `receipt-${receiptNumber(receipt.receiptNumber)}.pdf`,
        content: pdf,
        contentType: 'application/pdf',
      },
    ]);
  }

  close(): void {
    this.#transport.close();
    (this.#inner as { close?: () => void }).close?.();
  }
}
