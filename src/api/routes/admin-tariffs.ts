/**
 * Tariffs are versioned data: a change is a new version with its own effective date, never an edit, so every
 * past vend can be explained by the version it used. Create a version, list them, and read the one in force.
 * What a version may hold and how it prices is src/tariffs (docs/tariffs.md); a version that could not be
 * priced or sold (a zero price, overlapping or missing time-of-use hours or days) is refused as
 * problem+json `tariff_invalid` with every issue in `issues`. The reads are src/tariffs/queries.ts, the
 * change src/tariffs/service.ts.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Tariff } from '../../store/schema.ts';
import { Block, schemeOf, TariffPrices, Tou } from '../../tariffs/index.ts';
import { listTariffVersions, tariffVersionAt } from '../../tariffs/queries.ts';
import { createTariff } from '../../tariffs/service.ts';
import { principalOf } from '../auth.ts';
import { AppError } from '../errors.ts';
import { type AdminRoutesOptions, actorFor, Instant, MinorOrZero, uniqueOr409 } from './admin-shared.ts';

const Kind = z.enum(['electricity', 'water']);
const Code = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, - and _ (1 to 32)');

const TariffOut = z.object({
  id: z.string(),
  code: z.string(),
  version: z.number(),
  name: z.string(),
  kind: Kind,
  subsidised: z.boolean(),
  variantOf: z.string().nullable(),
  effectiveFrom: z.string(),
  currency: z.string(),
  unit: z.enum(['Wh', 'L']),
  pricePerUnits: z.number(),
  fixedMonthlyMinor: z.string(),
  taxRateBp: z.number(),
  debtRecoveryBp: z.number(),
  minPurchaseMinor: z.string(),
  scheme: z.enum(['blocks', 'tou']),
  blocks: z.array(Block),
  tou: Tou.nullable(),
  createdAt: z.string(),
});

function tariffOut(t: Tariff): z.infer<typeof TariffOut> {
  return {
    id: t.id,
    code: t.code,
    version: t.version,
    name: t.name,
    kind: t.kind,
    subsidised: t.subsidised,
    variantOf: t.variant_of,
    effectiveFrom: t.effective_from.toISOString(),
    currency: t.currency,
    unit: t.unit,
    pricePerUnits: t.price_per_units,
    fixedMonthlyMinor: t.fixed_monthly_minor.toString(),
    taxRateBp: t.tax_rate_bp,
    debtRecoveryBp: t.debt_recovery_bp,
    minPurchaseMinor: t.min_purchase_minor.toString(),
    scheme: schemeOf(t),
    blocks: t.blocks,
    tou: t.tou,
    createdAt: t.created_at.toISOString(),
  };
}

/** The price fields of a request body, whichever schemes `TariffPrices` knows. */
function pricesOf(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(TariffPrices.shape).map((k) => [k, body[k]]));
}

export const adminTariffRoutes: FastifyPluginAsync<AdminRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db, vending } = opts;
  const now = opts.now ?? (() => new Date());

  app.post(
    '/api/v1/tariffs',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['tariffs'],
        summary:
          'Create the next version of a tariff (a new code starts at version 1); versions are never edited',
        body: z.object({
          code: Code,
          name: z.string().trim().min(1).max(200),
          kind: Kind,
          subsidised: z.boolean().default(false),
          variantOf: Code.optional().describe(
            'a subsidised tariff: the code of the standard tariff it is the variant of; an eligible account given that code is priced at this one',
          ),
          effectiveFrom: Instant,
          fixedMonthlyMinor: MinorOrZero.default(0n),
          taxRateBp: z.number().int().min(0).max(10_000).default(0),
          debtRecoveryBp: z.number().int().min(0).max(10_000).default(0),
          minPurchaseMinor: MinorOrZero.default(0n),
          // The prices are src/tariffs' own schema: a new pricing scheme adds its field there, not here.
          ...TariffPrices.shape,
        }),
        response: { 201: TariffOut },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const by = actorFor(p);
      const b = req.body;
      if (b.variantOf !== undefined && !b.subsidised) {
        throw new AppError(
          'validation_failed',
          'variantOf: only a subsidised tariff is a variant of another',
        );
      }
      const utility = await vending.utility(p.utilityId);
      const created = await uniqueOr409(`code: tariff ${b.code} got a new version meanwhile; retry`, () =>
        createTariff(db, {
          utilityId: p.utilityId,
          code: b.code,
          name: b.name,
          kind: b.kind,
          subsidised: b.subsidised,
          variantOf: b.variantOf ?? null,
          effectiveFrom: b.effectiveFrom,
          currency: utility.currency,
          fixedMonthlyMinor: b.fixedMonthlyMinor,
          taxRateBp: b.taxRateBp,
          debtRecoveryBp: b.debtRecoveryBp,
          minPurchaseMinor: b.minPurchaseMinor,
          prices: pricesOf(b),
          actor: by.actor,
        }),
      );
      return reply.status(201).send(tariffOut(created));
    },
  );

  app.get(
    '/api/v1/tariffs',
    {
      config: { access: ['operator', 'service'] },
      schema: {
        tags: ['tariffs'],
        summary: 'Tariff versions, by code then newest version first',
        querystring: z.object({ code: Code.optional(), kind: Kind.optional() }),
        response: { 200: z.object({ tariffs: z.array(TariffOut) }) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const rows = await listTariffVersions(db, p.utilityId, req.query);
      return { tariffs: rows.map(tariffOut) };
    },
  );

  app.get(
    '/api/v1/tariffs/:code/current',
    {
      config: { access: ['operator', 'service'] },
      schema: {
        tags: ['tariffs'],
        summary: 'The version of a tariff in force now, or at `at`',
        params: z.object({ code: Code }),
        querystring: z.object({ at: Instant.optional() }),
        response: { 200: TariffOut },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const at = req.query.at ?? now();
      const t = await tariffVersionAt(db, p.utilityId, req.params.code, at);
      if (!t) {
        throw new AppError(
          'not_found',
          `no version of tariff ${req.params.code} is in force at ${at.toISOString()}`,
        );
      }
      return tariffOut(t);
    },
  );
};
