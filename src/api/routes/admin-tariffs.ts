/**
 * Tariffs are versioned data: a change is a new version with its own effective date, never an edit, so every
 * past vend can be explained by the version it used. Create a version, list them, and read the one in force.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { writeAudit } from '../../accounts/audit.ts';
import { jsonText, minorUnits, type Tariff } from '../../store/schema.ts';
import { principalOf } from '../auth.ts';
import { AppError } from '../errors.ts';
import { type AdminRoutesOptions, actorFor, Instant, MinorOrZero, uniqueOr409 } from './admin-shared.ts';

const Kind = z.enum(['electricity', 'water']);
const Code = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, - and _ (1 to 32)');

const Block = z.object({
  upToUnits: z
    .number()
    .int()
    .positive()
    .nullable()
    .describe('month-to-date units (Wh or litres) up to which this price applies; null = no bound'),
  priceMinorPerUnit: z
    .number()
    .int()
    .nonnegative()
    .describe('minor units per `pricePerUnits` units (e.g. fils per kWh)'),
});

/** Blocks rise strictly, and only the last one is open-ended. */
const Blocks = z
  .array(Block)
  .min(1)
  .max(20)
  .superRefine((blocks, ctx) => {
    let previous = 0;
    blocks.forEach((b, i) => {
      const last = i === blocks.length - 1;
      if (b.upToUnits === null && !last) {
        ctx.addIssue({ code: 'custom', path: [i, 'upToUnits'], message: 'only the last block may be open' });
      } else if (b.upToUnits !== null && b.upToUnits <= previous) {
        ctx.addIssue({ code: 'custom', path: [i, 'upToUnits'], message: 'blocks must rise' });
      }
      previous = b.upToUnits ?? previous;
    });
  });

const TouPeriod = z.object({
  name: z.string().min(1).max(40),
  days: z.array(z.number().int().min(1).max(7)).min(1).max(7),
  fromMinute: z.number().int().min(0).max(1439),
  toMinute: z.number().int().min(0).max(1439),
  blocks: Blocks,
});

const TariffOut = z.object({
  id: z.string(),
  code: z.string(),
  version: z.number(),
  name: z.string(),
  kind: Kind,
  subsidised: z.boolean(),
  effectiveFrom: z.string(),
  currency: z.string(),
  unit: z.enum(['Wh', 'L']),
  pricePerUnits: z.number(),
  fixedMonthlyMinor: z.string(),
  taxRateBp: z.number(),
  debtRecoveryBp: z.number(),
  minPurchaseMinor: z.string(),
  blocks: z.array(Block),
  tou: z.array(TouPeriod).nullable(),
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
    effectiveFrom: t.effective_from.toISOString(),
    currency: t.currency,
    unit: t.unit,
    pricePerUnits: t.price_per_units,
    fixedMonthlyMinor: t.fixed_monthly_minor.toString(),
    taxRateBp: t.tax_rate_bp,
    debtRecoveryBp: t.debt_recovery_bp,
    minPurchaseMinor: t.min_purchase_minor.toString(),
    blocks: t.blocks,
    tou: t.tou,
    createdAt: t.created_at.toISOString(),
  };
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
          effectiveFrom: Instant,
          fixedMonthlyMinor: MinorOrZero.default(0n),
          taxRateBp: z.number().int().min(0).max(10_000).default(0),
          debtRecoveryBp: z.number().int().min(0).max(10_000).default(0),
          minPurchaseMinor: MinorOrZero.default(0n),
          pricePerUnits: z.number().int().positive().max(1_000_000).default(1000),
          blocks: Blocks,
          tou: z.array(TouPeriod).max(24).optional(),
        }),
        response: { 201: TariffOut },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const by = actorFor(p);
      const b = req.body;
      const utility = await vending.utility(p.utilityId);
      const created = await uniqueOr409(`code: tariff ${b.code} got a new version meanwhile; retry`, () =>
        db.transaction().execute(async (trx) => {
          const latest = await trx
            .selectFrom('tariffs')
            .select(['version', 'kind', 'effective_from'])
            .where('utility_id', '=', p.utilityId)
            .where('code', '=', b.code)
            .orderBy('version', 'desc')
            .limit(1)
            .executeTakeFirst();
          if (latest && latest.kind !== b.kind) {
            throw new AppError('validation_failed', `kind: tariff ${b.code} is for ${latest.kind}`);
          }
          if (latest && b.effectiveFrom < latest.effective_from) {
            throw new AppError(
              'conflict',
              `effectiveFrom: version ${latest.version} of ${b.code} takes effect ${latest.effective_from.toISOString()}; a new version cannot start before it`,
            );
          }
          const t = await trx
            .insertInto('tariffs')
            .values({
              utility_id: p.utilityId,
              code: b.code,
              name: b.name,
              kind: b.kind,
              subsidised: b.subsidised,
              version: (latest?.version ?? 0) + 1,
              effective_from: b.effectiveFrom,
              currency: utility.currency,
              fixed_monthly_minor: minorUnits(b.fixedMonthlyMinor),
              tax_rate_bp: b.taxRateBp,
              debt_recovery_bp: b.debtRecoveryBp,
              min_purchase_minor: minorUnits(b.minPurchaseMinor),
              unit: b.kind === 'water' ? 'L' : 'Wh',
              price_per_units: b.pricePerUnits,
              blocks: jsonText(b.blocks),
              tou: b.tou ? jsonText(b.tou) : null,
            })
            .returningAll()
            .executeTakeFirstOrThrow();
          await writeAudit(trx, {
            utilityId: p.utilityId,
            actor: by.actor,
            action: 'tariff.create',
            subject: `tariff:${t.code}:${t.version}`,
            details: {
              id: t.id,
              code: t.code,
              version: t.version,
              effectiveFrom: t.effective_from.toISOString(),
              subsidised: t.subsidised,
            },
          });
          return t;
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
      let q = db.selectFrom('tariffs').selectAll().where('utility_id', '=', p.utilityId);
      if (req.query.code) q = q.where('code', '=', req.query.code);
      if (req.query.kind) q = q.where('kind', '=', req.query.kind);
      const rows = await q.orderBy('code').orderBy('version', 'desc').limit(500).execute();
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
      const t = await db
        .selectFrom('tariffs')
        .selectAll()
        .where('utility_id', '=', p.utilityId)
        .where('code', '=', req.params.code)
        .where('effective_from', '<=', at)
        .orderBy('effective_from', 'desc')
        .orderBy('version', 'desc')
        .limit(1)
        .executeTakeFirst();
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
