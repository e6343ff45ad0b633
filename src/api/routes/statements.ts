/**
 * Statements and receipts as documents: an account's monthly statement (JSON or A4 PDF, Arabic or English)
 * for customer service and for the customer, and the receipt PDF of an online top-up for whoever holds the
 * payment's key (the same key that reads its token: the receipt link sent by SMS and e-mail).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { assertOwnAccount } from '../../accounts/queries.ts';
import { checkoutReceipt } from '../../payments/queries.ts';
import { renderReceiptPdf } from '../../receipts/receipt-pdf.ts';
import { buildStatement, MONTH, renderStatementPdf, type Statement } from '../../receipts/statement.ts';
import type { AccountId, Database, UtilityId } from '../../store/schema.ts';
import type { Receipt } from '../../vending/receipt.ts';
import { principalOf } from '../auth.ts';
import { AppError } from '../errors.ts';

export interface StatementRoutesOptions {
  readonly db: Kysely<Database>;
  readonly publicRateLimit: number;
  readonly now?: () => Date;
}

const StatementQuery = z.object({
  month: z.string().regex(MONTH, 'a month as YYYY-MM'),
  lang: z.enum(['ar', 'en']).default('en'),
  format: z.enum(['json', 'pdf']).default('json'),
});

function statementJson(st: Statement) {
  return {
    month: st.month,
    account: st.account,
    currency: st.utility.currency,
    timezone: st.utility.timezone,
    openingMinor: st.openingMinor.toString(),
    closingMinor: st.closingMinor.toString(),
    entries: st.entries.map((e) => ({
      at: e.at.toISOString(),
      kind: e.kind,
      amountMinor: e.amountMinor.toString(),
      balanceMinor: e.balanceMinor.toString(),
      receipt: e.receipt,
    })),
  };
}

export const statementRoutes: FastifyPluginAsync<StatementRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const now = opts.now ?? (() => new Date());

  /** Builds an account's statement for the month asked and answers it as JSON or PDF. */
  async function send(
    reply: { type(t: string): unknown; header(k: string, v: string): unknown },
    utilityId: UtilityId,
    accountId: string,
    q: z.infer<typeof StatementQuery>,
  ) {
    const st = await buildStatement(opts.db, utilityId, accountId as AccountId, q.month, now());
    if (q.format === 'json') return statementJson(st);
    reply.type('application/pdf');
    reply.header(
      'content-disposition',
      `inline; filename="statement-${st.account.number}-${st.month}-${q.lang}.pdf"`,
    );
    return renderStatementPdf(st, q.lang);
  }

  app.get(
    '/api/v1/accounts/:accountId/statement',
    {
      config: { access: ['operator', 'service'] },
      schema: {
        tags: ['accounts'],
        summary:
          "An account's monthly statement: opening balance, every payment, vend, charge and adjustment, closing balance (JSON or PDF)",
        params: z.object({ accountId: z.uuid() }),
        querystring: StatementQuery,
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      return send(reply, p.utilityId, req.params.accountId, req.query);
    },
  );

  app.get(
    '/api/v1/me/accounts/:accountId/statement',
    {
      config: { access: ['customer'] },
      schema: {
        tags: ['customer'],
        summary: 'My monthly account statement (JSON or PDF)',
        params: z.object({ accountId: z.uuid() }),
        querystring: StatementQuery,
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      if (p.kind !== 'user' || p.customerId === null) {
        throw new AppError('forbidden', 'this sign-in is not linked to a customer');
      }
      await assertOwnAccount(opts.db, p.customerId, req.params.accountId as AccountId);
      return send(reply, p.utilityId, req.params.accountId, req.query);
    },
  );

  app.get(
    '/api/v1/checkout/:sessionId/receipt',
    {
      config: { access: 'public', rateLimit: { max: opts.publicRateLimit, timeWindow: 60_000 } },
      schema: {
        tags: ['top-up'],
        summary: 'The receipt PDF of a paid online top-up (the link sent with the token)',
        params: z.object({ sessionId: z.string().min(8).max(255) }),
        querystring: z.object({
          size: z.enum(['80mm', 'a4']).default('a4'),
          lang: z.enum(['ar', 'en']).default('en'),
        }),
      },
    },
    async (req, reply) => {
      const row = await checkoutReceipt(opts.db, req.params.sessionId);
      const receipt = { ...(row.receipt as unknown as Receipt), status: row.status };
      const pdf = await renderReceiptPdf(receipt, {
        size: req.query.size,
        lang: req.query.lang,
        timeZone: row.timezone,
      });
      return reply
        .type('application/pdf')
        .header(
          'content-disposition',
          `inline; filename="receipt-${receipt.receiptNumber.slice(0, 8).toUpperCase()}.pdf"`,
        )
        .send(pdf);
    },
  );
};
