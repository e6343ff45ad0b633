/**
 * The meter lifecycle over HTTP (src/meters/lifecycle.ts): move a meter between registered, installed,
 * active, suspended and decommissioned with a reason; replace a meter (src/meters/replacement.ts).
 * Technicians install and activate; suspending, decommissioning and the rest are the operator's.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { METER_STATUSES, METER_TRANSITIONS, MeterStateError, moveMeter } from '../../meters/lifecycle.ts';
import { replaceMeter } from '../../meters/replacement.ts';
import type { Database, MeterId } from '../../store/schema.ts';
import type { ManagementTokens } from '../../vending/management.ts';
import { principalOf } from '../auth.ts';
import { AppError } from '../errors.ts';
import { actorFor } from './admin-shared.ts';

export interface MeterLifecycleOptions {
  readonly db: Kysely<Database>;
  readonly management: ManagementTokens;
  /** Charges a central meter's consumption up to now (the balance engine's run for it), when this process runs it. */
  readonly settle?: (meterId: MeterId) => Promise<void>;
  readonly now?: () => Date;
}

const TECHNICIAN_MAY: ReadonlySet<string> = new Set(['installed', 'active']);
const Reason = z.string().trim().min(3, 'at least 3 characters').max(500);
const Register = z
  .union([z.string().regex(/^[0-9]{1,18}$/), z.number().int().nonnegative()])
  .transform((v) => BigInt(v));

export const meterLifecycleRoutes: FastifyPluginAsync<MeterLifecycleOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const now = opts.now ?? (() => new Date());

  app.post(
    '/api/v1/meters/:meterId/state',
    {
      config: { access: ['operator', 'technician'] },
      schema: {
        tags: ['meters'],
        summary:
          'Move a meter along its lifecycle (registered → installed → active ⇄ suspended → decommissioned) with a reason; audited',
        params: z.object({ meterId: z.uuid() }),
        body: z.object({ to: z.enum(METER_STATUSES), reason: Reason }),
        response: {
          200: z.object({
            meterId: z.string(),
            from: z.enum(METER_STATUSES),
            to: z.enum(METER_STATUSES),
            reason: z.string(),
            at: z.string(),
            next: z.array(z.enum(METER_STATUSES)).describe('the states the meter may move to now'),
          }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      if (p.role === 'technician' && !TECHNICIAN_MAY.has(req.body.to)) {
        throw new AppError(
          'forbidden',
          `a technician may move a meter to installed or active, not ${req.body.to}`,
        );
      }
      try {
        const moved = await moveMeter(opts.db, {
          utilityId: p.utilityId,
          meterId: req.params.meterId as MeterId,
          to: req.body.to,
          reason: req.body.reason,
          actor: actorFor(p).actor,
          at: now(),
        });
        if (!moved) throw new AppError('not_found', `meter ${req.params.meterId} is unknown`);
        return { ...moved, at: moved.at.toISOString(), next: [...METER_TRANSITIONS[moved.to]] };
      } catch (err) {
        if (err instanceof MeterStateError) {
          throw new AppError('meter_state_invalid', err.message, {
            from: err.from,
            to: err.to,
            ...(err.blocker ? { blocker: err.blocker } : {}),
          });
        }
        throw err;
      }
    },
  );

  app.post(
    '/api/v1/meters/:meterId/replacement',
    {
      config: { access: ['operator', 'technician'] },
      schema: {
        tags: ['meters'],
        summary:
          "Replace a meter: its final reading, the new meter takes over the account (a token meter's remaining credit as a credit token on the new one), both audited",
        params: z.object({ meterId: z.uuid() }),
        body: z.object({
          newMeterId: z.uuid(),
          finalRegister: Register.describe("the old meter's cumulative register at removal (Wh or litres)"),
          creditUnits: Register.optional().describe(
            'token meters: the credit the old meter still shows (Wh or litres); default its last report',
          ),
          reason: Reason,
        }),
        response: {
          201: z.object({
            oldMeterId: z.string(),
            newMeterId: z.string(),
            accountId: z.string(),
            mode: z.enum(['token', 'central']),
            creditToken: z.object({ token: z.string(), tid: z.number(), units: z.string() }).nullable(),
          }),
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const by = actorFor(p);
      const result = await replaceMeter(
        opts.db,
        opts.management,
        {
          utilityId: p.utilityId,
          oldMeterId: req.params.meterId as MeterId,
          newMeterId: req.body.newMeterId as MeterId,
          finalRegister: req.body.finalRegister,
          creditUnits: req.body.creditUnits,
          reason: req.body.reason,
          actor: by.actor,
          userId: by.userId,
          at: now(),
        },
        opts.settle,
      );
      return reply.status(201).send(result);
    },
  );
};
