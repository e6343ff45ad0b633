/**
 * Arrears: a debt recorded on an account (an old bill carried over from the previous billing system, a
 * damaged meter, a bounced cheque), with its reason and an audit row. Vending recovers it at the tariff's
 * debt-recovery share of each payment (net of tax) until it is paid (src/vending/quote.ts); the recovered
 * amount is the account ledger's `debt_recovery` lines, so what is outstanding is always derived.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import { writeAudit } from '../../accounts/audit.ts';
import { formatMoney } from '../../money.ts';
import type { AccountId, Database, UtilityId } from '../../store/schema.ts';
import { principalOf } from '../auth.ts';
import { AppError } from '../errors.ts';
import { actorFor, PositiveMinor } from './admin-shared.ts';

export interface ArrearsRoutesOptions {
  readonly db: Kysely<Database>;
}

const Amount = z.object({ minor: z.string(), amount: z.string() });
const ArrearsOut = z.object({
  accountId: z.string(),
  currency: z.string(),
  exponent: z.number(),
  recorded: Amount.describe('every debt recorded on the account'),
  recovered: Amount.describe('recovered from payments so far'),
  outstanding: Amount,
  entries: z.array(z.object({ at: z.string(), amount: Amount, reason: z.string(), actor: z.string() })),
});

export const arrearsRoutes: FastifyPluginAsync<ArrearsRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;

  async function view(utilityId: UtilityId, accountId: AccountId): Promise<z.infer<typeof ArrearsOut>> {
    const a = await db
      .selectFrom('accounts as a')
      .innerJoin('utilities as u', 'u.id', 'a.utility_id')
      .select(['a.id', 'a.debt_minor', 'u.currency', 'u.currency_exponent'])
      .where('a.id', '=', accountId)
      .where('a.utility_id', '=', utilityId)
      .executeTakeFirst();
    if (!a) throw new AppError('not_found', `account ${accountId} is unknown`);
    // sum() of a bigint is a numeric, which both drivers hand over as a string of digits.
    const { rows } = await sql<{ recovered: string | null }>`
      select -sum(amount_minor) as recovered from account_ledger
       where account_id = ${accountId} and ref = 'debt_recovery'
    `.execute(db);
    const recovered = BigInt(rows[0]?.recovered ?? 0);
    const exp = a.currency_exponent;
    const money = (m: bigint) => ({ minor: m.toString(), amount: formatMoney(m, exp) });
    const entries = await db
      .selectFrom('audit_log')
      .select(['created_at', 'actor', 'details'])
      .where('utility_id', '=', utilityId)
      .where('subject', '=', `account:${accountId}`)
      .where('action', '=', 'account.arrears')
      .orderBy('id', 'desc')
      .execute();
    const debt = BigInt(a.debt_minor);
    return {
      accountId: a.id,
      currency: a.currency,
      exponent: exp,
      recorded: money(debt),
      recovered: money(recovered),
      outstanding: money(debt > recovered ? debt - recovered : 0n),
      entries: entries.map((e) => ({
        at: e.created_at.toISOString(),
        amount: money(BigInt(String((e.details as { amountMinor?: string }).amountMinor ?? '0'))),
        reason: String((e.details as { reason?: string }).reason ?? ''),
        actor: e.actor,
      })),
    };
  }

  app.get(
    '/api/v1/accounts/:accountId/arrears',
    {
      config: { access: ['operator', 'service'] },
      schema: {
        tags: ['accounts'],
        summary: "An account's arrears: recorded, recovered, outstanding, and each debt with its reason",
        params: z.object({ accountId: z.uuid() }),
        response: { 200: ArrearsOut },
      },
    },
    async (req) => view(principalOf(req).utilityId, req.params.accountId as AccountId),
  );

  app.post(
    '/api/v1/accounts/:accountId/arrears',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['accounts'],
        summary:
          "Record a debt on an account with its reason (audited); each later payment recovers the tariff's debt-recovery share of it",
        params: z.object({ accountId: z.uuid() }),
        body: z.object({ amountMinor: PositiveMinor, reason: z.string().trim().min(3).max(300) }),
        response: { 201: ArrearsOut },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const accountId = req.params.accountId as AccountId;
      await db.transaction().execute(async (trx) => {
        const a = await trx
          .selectFrom('accounts')
          .select(['id', 'status', 'debt_minor'])
          .where('id', '=', accountId)
          .where('utility_id', '=', p.utilityId)
          .forUpdate()
          .executeTakeFirst();
        if (!a) throw new AppError('not_found', `account ${accountId} is unknown`);
        if (a.status === 'closed') throw new AppError('conflict', `account ${accountId} is closed`);
        await trx
          .updateTable('accounts')
          .set({ debt_minor: sql`debt_minor + ${req.body.amountMinor.toString()}::bigint` })
          .where('id', '=', accountId)
          .execute();
        await writeAudit(trx, {
          utilityId: p.utilityId,
          actor: actorFor(p).actor,
          action: 'account.arrears',
          subject: `account:${accountId}`,
          details: { amountMinor: req.body.amountMinor.toString(), reason: req.body.reason },
        });
      });
      return reply.status(201).send(await view(p.utilityId, accountId));
    },
  );
};
