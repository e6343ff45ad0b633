/**
 * Vending routes: the public top-up lookup and quote, kiosk sales, receipts and reprints, reversal, token
 * history, vendor float and reconciliation. Schemas drive validation, OpenAPI and handler types together.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { formatMoney } from '../../money.ts';
import { vendIdByReceipt } from '../../receipts/lookup.ts';
import { renderReceiptPdf } from '../../receipts/receipt-pdf.ts';
import type { Database, MeterId, VendId, VendorId } from '../../store/schema.ts';
import { MANAGEMENT_TOKENS, type ManagementTokens } from '../../vending/management.ts';
import { vendorFloatView, vendorReconciliation } from '../../vending/queries.ts';
import type { Quote } from '../../vending/quote.ts';
import { groupToken, type Receipt, receiptPeriods, renderReceiptHtml } from '../../vending/receipt.ts';
import type { VendingService } from '../../vending/service.ts';
import { actorOf, principalOf } from '../auth.ts';
import { AppError } from '../errors.ts';
import { MinorAmount } from '../schemas/amounts.ts';

export interface VendingRoutesOptions {
  readonly vending: VendingService;
  readonly management: ManagementTokens;
  readonly db: Kysely<Database>;
  /** Requests per minute per client on public routes. */
  readonly publicRateLimit: number;
}

const Problem = z
  .object({ type: z.string(), title: z.string(), status: z.number(), code: z.string() })
  .loose();

const QuoteLineOut = z.object({
  code: z.string(),
  amountMinor: z.string(),
  amount: z.string(),
  units: z.string().optional(),
  block: z.number().optional(),
  price: z.string().optional(),
  period: z.object({ season: z.string(), period: z.string() }).optional(),
});

/** A time-of-use tariff's periods in the season of the quote (docs/tariffs.md), the one in force marked. */
const PeriodOut = z.object({
  season: z.string(),
  name: z.string(),
  days: z.enum(['all', 'weekday', 'weekend']),
  fromHour: z.number(),
  toHour: z.number(),
  priceMinor: z.string().describe('minor units per `perUnits` base units (Wh or litres)'),
  perUnits: z.string(),
  price: z.string().optional().describe('per kWh or m³, formatted, when exact'),
  current: z.boolean(),
});

function quoteOut(q: Quote, exponent: number) {
  return {
    amountPaid: formatMoney(q.amountPaid, exponent),
    tax: formatMoney(q.tax, exponent),
    debtRecovery: formatMoney(q.debtRecovery, exponent),
    fixedCharges: formatMoney(q.fixedCharges, exponent),
    toAccountCredit: formatMoney(q.toAccountCredit, exponent),
    units: formatMoney(q.tenths, 1),
    unitsBase: q.units.toString(),
    lines: q.lines.map((l) => ({
      code: l.code,
      amountMinor: l.amountMinor.toString(),
      amount: formatMoney(l.amountMinor, exponent),
      ...(l.units !== undefined ? { units: formatMoney(l.units, 3) } : {}),
      ...(l.block !== undefined ? { block: l.block } : {}),
      ...(l.priceMinorPerKUnit !== undefined ? { price: formatMoney(l.priceMinorPerKUnit, exponent) } : {}),
      ...(l.period !== undefined ? { period: l.period } : {}),
    })),
    ...(q.schedule && q.schedule.length > 0 ? { periods: receiptPeriods(q.schedule, exponent) } : {}),
  };
}

const ReceiptOut = z.record(z.string(), z.unknown()).describe('the receipt: every line, units, token');

/** Local calendar day of a timestamp in a zone, as YYYY-MM-DD. */
const DAY = /^\d{4}-\d{2}-\d{2}$/;

function csvCell(v: unknown): string {
  const s = String(v ?? '');
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export const vendingRoutes: FastifyPluginAsync<VendingRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { vending, db } = opts;
  const publicLimit = { max: opts.publicRateLimit, timeWindow: 60_000 };

  app.get(
    '/api/v1/utilities/:utility/meters/:meter',
    {
      config: { access: 'public', rateLimit: publicLimit },
      schema: {
        tags: ['top-up'],
        summary: 'Find a meter for a top-up; the holder’s name is masked',
        params: z.object({ utility: z.string().min(1).max(32), meter: z.string().min(3).max(40) }),
        response: {
          200: z.object({
            meter: z.string(),
            kind: z.enum(['electricity', 'water']),
            mode: z.enum(['token', 'central']),
            customerName: z.string(),
            currency: z.string(),
            exponent: z.number(),
          }),
          404: Problem,
        },
      },
    },
    async (req) => {
      const utility = await vending.utilityByCode(req.params.utility);
      const v = await vending.lookup(utility.id, req.params.meter);
      return {
        meter: v.serial,
        kind: v.kind,
        mode: v.mode,
        customerName: v.customerName,
        currency: utility.currency,
        exponent: utility.exponent,
      };
    },
  );

  app.post(
    '/api/v1/utilities/:utility/quotes',
    {
      config: { access: 'public', rateLimit: publicLimit },
      schema: {
        tags: ['top-up'],
        summary: 'Quote a top-up: every deduction and the units it buys',
        params: z.object({ utility: z.string().min(1).max(32) }),
        body: z.object({ meter: z.string().min(3).max(40), amountMinor: MinorAmount }),
        response: {
          200: z.object({
            meter: z.string(),
            customerName: z.string(),
            currency: z.string(),
            unit: z.string(),
            amountPaid: z.string(),
            tax: z.string(),
            debtRecovery: z.string(),
            fixedCharges: z.string(),
            toAccountCredit: z.string(),
            units: z.string(),
            unitsBase: z.string(),
            lines: z.array(QuoteLineOut),
            periods: z.array(PeriodOut).optional(),
          }),
          404: Problem,
          422: Problem,
        },
      },
    },
    async (req) => {
      const utility = await vending.utilityByCode(req.params.utility);
      const { view, quote } = await vending.quote(utility.id, req.body.meter, req.body.amountMinor);
      return {
        meter: view.serial,
        customerName: view.customerName,
        currency: utility.currency,
        unit: view.kind === 'water' ? 'm³' : 'kWh',
        ...quoteOut(quote, utility.exponent),
      };
    },
  );

  app.post(
    '/api/v1/vends',
    {
      config: { access: ['vendor'] },
      schema: {
        tags: ['vending'],
        summary: 'Sell credit for cash at a kiosk (Idempotency-Key header required)',
        security: [{ apiKey: [] }, { bearer: [] }],
        headers: z.object({ 'idempotency-key': z.string().min(8).max(128).optional() }).loose(),
        body: z.object({ meter: z.string().min(3).max(40), amountMinor: MinorAmount }),
        response: {
          201: z.object({
            vendId: z.string(),
            replayed: z.boolean(),
            token: z.string().nullable(),
            tokenGrouped: z.string().nullable(),
            receipt: ReceiptOut,
          }),
          200: z.object({
            vendId: z.string(),
            replayed: z.boolean(),
            token: z.string().nullable(),
            tokenGrouped: z.string().nullable(),
            receipt: ReceiptOut,
          }),
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const key = req.headers['idempotency-key'];
      if (typeof key !== 'string' || key.length < 8) throw new AppError('idempotency_key_required');
      if (!p.vendorId) throw new AppError('forbidden', 'this user is not attached to a vendor');
      const result = await vending.vend({
        utilityId: p.utilityId,
        meter: req.body.meter,
        amountMinor: req.body.amountMinor,
        channel: { kind: 'vendor', vendorId: p.vendorId, kioskId: p.kind === 'kiosk' ? p.kioskId : null },
        idempotencyKey: `${p.vendorId}:${key}`,
        actor: actorOf(p),
      });
      return reply.status(result.replayed ? 200 : 201).send({
        vendId: result.vendId,
        replayed: result.replayed,
        token: result.token,
        tokenGrouped: result.receipt.tokenGrouped,
        receipt: result.receipt as unknown as Record<string, unknown>,
      });
    },
  );

  app.get(
    '/api/v1/vends/:vendId/receipt',
    {
      config: { access: ['vendor', 'operator', 'service'] },
      schema: {
        tags: ['vending'],
        summary:
          'A receipt again (reprint) by vend id or by the receipt number printed on it: JSON, printable HTML (80 mm, A4) or PDF',
        params: z.object({
          vendId: z
            .string()
            .trim()
            .regex(
              /^([0-9A-Fa-f]{8}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/,
              'a vend id or the 8-character receipt number',
            ),
        }),
        querystring: z.object({
          format: z.enum(['json', '80mm', 'a4', 'pdf']).default('json'),
          /** With format=pdf: the paper. */
          size: z.enum(['80mm', 'a4']).default('80mm'),
          lang: z.enum(['ar', 'en']).default('en'),
          digits: z.enum(['latin', 'arabic']).default('latin'),
        }),
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const vendId = await vendIdByReceipt(db, p.utilityId, req.params.vendId);
      const receipt: Receipt = await vending.reprint(
        p.utilityId,
        vendId,
        actorOf(p),
        p.role === 'vendor' ? p.vendorId : null,
      );
      if (req.query.format === 'json') return receipt;
      const { timezone } = await vending.utility(p.utilityId);
      if (req.query.format === 'pdf') {
        const pdf = await renderReceiptPdf(receipt, {
          size: req.query.size,
          lang: req.query.lang,
          timeZone: timezone,
        });
        return reply
          .type('application/pdf')
          .header(
            'content-disposition',
            `inline; filename="receipt-${receipt.receiptNumber.slice(0, 8).toUpperCase()}-${req.query.size}-${req.query.lang}.pdf"`,
          )
          .send(pdf);
      }
      return reply.type('text/html; charset=utf-8').send(
        renderReceiptHtml(receipt, {
          format: req.query.format,
          lang: req.query.lang,
          arabicDigits: req.query.digits === 'arabic',
          timeZone: timezone,
        }),
      );
    },
  );

  app.post(
    '/api/v1/vends/:vendId/reversal',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['vending'],
        summary: 'Reverse a vend whose token is unused, within the reversal window',
        params: z.object({ vendId: z.uuid() }),
        body: z.object({ reason: z.string().min(3).max(500) }),
      },
    },
    async (req) => {
      const p = principalOf(req);
      const out = await vending.reverse(
        p.utilityId,
        req.params.vendId as VendId,
        actorOf(p),
        req.body.reason,
      );
      return { vendId: req.params.vendId, status: 'reversed', reversedMinor: out.reversedMinor.toString() };
    },
  );

  app.get(
    '/api/v1/meters/:meterId/tokens',
    {
      config: { access: ['operator', 'service', 'technician'] },
      schema: {
        tags: ['vending'],
        summary: 'Tokens issued to a meter, newest first',
        params: z.object({ meterId: z.uuid() }),
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
      },
    },
    async (req) => {
      const p = principalOf(req);
      const rows = await vending.history(p.utilityId, req.params.meterId as MeterId, req.query.limit);
      return {
        tokens: rows.map((r) => ({
          kind: r.kind,
          token: r.token,
          tid: r.tid,
          issuedAt: r.issued_at.toISOString(),
          usedAt: r.used_at?.toISOString() ?? null,
          vendId: r.vend_id,
          reason: r.reason,
          amountPaidMinor: r.amount_paid_minor?.toString() ?? null,
          units: r.units?.toString() ?? null,
          status: r.status,
          channel: r.channel,
        })),
      };
    },
  );

  app.post(
    '/api/v1/meters/:meterId/management-tokens',
    {
      config: { access: ['operator', 'technician'] },
      schema: {
        tags: ['tokens'],
        summary: 'Issue a management token (clear tamper, clear credit, max power) or an engineering token',
        params: z.object({ meterId: z.uuid() }),
        body: z.object({
          token: z.enum(Object.keys(MANAGEMENT_TOKENS) as [string, ...string[]]),
          value: z.number().int().min(0).max(18_201_624).default(0),
          reason: z.string().max(500).default(''),
          engineering: z.boolean().default(false),
        }),
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const engineering = req.body.engineering || MANAGEMENT_TOKENS[req.body.token]?.kind === 'engineering';
      if (engineering && p.role !== 'operator' && p.role !== 'admin') {
        throw new AppError('forbidden', 'engineering tokens are issued by operators');
      }
      const issued = await opts.management.issue({
        utilityId: p.utilityId,
        meterId: req.params.meterId as MeterId,
        token: req.body.token,
        value: req.body.value,
        reason: req.body.reason,
        engineering,
        actor: actorOf(p),
        userId: p.kind === 'user' ? p.userId : null,
      });
      return reply.status(201).send({ ...issued, tokenGrouped: groupToken(issued.token) });
    },
  );

  app.post(
    '/api/v1/meters/:meterId/key-change',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['tokens'],
        summary: 'Rotate a meter to a new key revision: the two key change tokens, in order',
        params: z.object({ meterId: z.uuid() }),
        body: z.object({
          newKrn: z.number().int().min(1).max(9),
          newSgc: z.number().int().min(0).max(999_999).optional(),
          newTi: z.number().int().min(0).max(99).optional(),
          newKt: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]).optional(),
          newKen: z.number().int().min(0).max(255).optional(),
          rollover: z.boolean().default(false),
          reason: z.string().min(3).max(500),
        }),
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const out = await opts.management.keyChange({
        utilityId: p.utilityId,
        meterId: req.params.meterId as MeterId,
        newKrn: req.body.newKrn,
        ...(req.body.newSgc !== undefined ? { newSgc: req.body.newSgc } : {}),
        ...(req.body.newTi !== undefined ? { newTi: req.body.newTi } : {}),
        ...(req.body.newKt !== undefined ? { newKt: req.body.newKt } : {}),
        ...(req.body.newKen !== undefined ? { newKen: req.body.newKen } : {}),
        rollover: req.body.rollover,
        reason: req.body.reason,
        actor: actorOf(p),
      });
      return reply
        .status(201)
        .send({ tokens: out.tokens, tokensGrouped: out.tokens.map(groupToken), newKrn: out.newKrn });
    },
  );

  const ownVendor = (p: ReturnType<typeof principalOf>, vendorId: string): VendorId => {
    if (p.role === 'vendor' && p.vendorId !== vendorId)
      throw new AppError('not_found', `vendor ${vendorId} is unknown`);
    return vendorId as VendorId;
  };

  app.get(
    '/api/v1/vendors/:vendorId/float',
    {
      config: { access: ['vendor', 'operator'] },
      schema: {
        tags: ['vendors'],
        summary: "A vendor's float and credit limit",
        params: z.object({ vendorId: z.uuid() }),
      },
    },
    async (req) => {
      const p = principalOf(req);
      const vendorId = ownVendor(p, req.params.vendorId);
      const vendor = await vendorFloatView(db, p.utilityId, vendorId);
      const utility = await vending.utility(vendor.utilityId);
      const float = vendor.floatMinor;
      return {
        vendor: vendor.name,
        currency: utility.currency,
        floatMinor: float.toString(),
        float: formatMoney(float, utility.exponent),
        creditLimitMinor: vendor.creditLimitMinor.toString(),
        availableMinor: (float + vendor.creditLimitMinor).toString(),
      };
    },
  );

  app.get(
    '/api/v1/vendors/:vendorId/reconciliation',
    {
      config: { access: ['vendor', 'operator'] },
      schema: {
        tags: ['vendors'],
        summary: 'Sales, commission and float movements per kiosk per day (JSON or CSV)',
        params: z.object({ vendorId: z.uuid() }),
        querystring: z.object({
          from: z.string().regex(DAY),
          to: z.string().regex(DAY),
          format: z.enum(['json', 'csv']).default('json'),
        }),
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const vendorId = ownVendor(p, req.params.vendorId);
      const utility = await vending.utility(p.utilityId);
      const rows = await vendorReconciliation(db, {
        utilityId: p.utilityId,
        vendorId,
        timezone: utility.timezone,
        from: req.query.from,
        to: req.query.to,
      });
      const out = rows.map((r) => ({
        day: r.day,
        kiosk: r.kiosk,
        sales: Number(r.sales),
        salesMinor: r.salesMinor.toString(),
        commissionMinor: r.commissionMinor.toString(),
        topupsMinor: r.topupsMinor.toString(),
        reversalsMinor: r.reversalsMinor.toString(),
        netFloatMinor: r.netFloatMinor.toString(),
      }));
      if (req.query.format === 'csv') {
        const header = 'day,kiosk,sales,sales,commission,float_topups,reversals,net_float';
        const body = out.map((r) =>
          [
            r.day,
            r.kiosk ?? '',
            r.sales,
            formatMoney(BigInt(r.salesMinor), utility.exponent),
            formatMoney(BigInt(r.commissionMinor), utility.exponent),
            formatMoney(BigInt(r.topupsMinor), utility.exponent),
            formatMoney(BigInt(r.reversalsMinor), utility.exponent),
            formatMoney(BigInt(r.netFloatMinor), utility.exponent),
          ]
            .map(csvCell)
            .join(','),
        );
        return reply
          .type('text/csv; charset=utf-8')
          .header(
            'content-disposition',
            `attachment; filename="reconciliation-${req.query.from}-${req.query.to}.csv"`,
          )
          .send(`${[header.replace('sales,sales', 'sales_count,sales_amount'), ...body].join('\n')}\n`);
      }
      return { currency: utility.currency, exponent: utility.exponent, days: out };
    },
  );
};
