/** The audit log for operators: every change to accounts, meters, tariffs, vendors, keys and every vend. */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { listAudit } from '../../accounts/audit.ts';
import { principalOf } from '../auth.ts';
import { type AdminRoutesOptions, Instant } from './admin-shared.ts';

export const adminAuditRoutes: FastifyPluginAsync<AdminRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  app.get(
    '/api/v1/audit',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['audit'],
        summary: 'The audit log, newest first; pass `next` back as `before` for the following page',
        querystring: z.object({
          subject: z
            .string()
            .regex(/^[a-z_]+:[A-Za-z0-9:_-]+$/, 'kind:id, e.g. account:<uuid>')
            .optional(),
          action: z
            .string()
            .regex(
              /^[a-z_]+(\.[a-z_]+)*(\.\*)?$/,
              'e.g. account.transfer, or account.* for every account action',
            )
            .optional(),
          actor: z.string().min(3).max(80).optional(),
          from: Instant.optional().describe('at or after'),
          to: Instant.optional().describe('before'),
          before: z
            .string()
            .regex(/^[0-9]{1,18}$/)
            .optional()
            .describe('the `next` of the previous page'),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
        response: {
          200: z.object({
            entries: z.array(
              z.object({
                id: z.string(),
                at: z.string(),
                actor: z.string(),
                action: z.string(),
                subject: z.string(),
                details: z.record(z.string(), z.unknown()),
              }),
            ),
            next: z.string().nullable(),
          }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const q = req.query;
      const page = await listAudit(opts.db, {
        utilityId: p.utilityId,
        subject: q.subject,
        action: q.action,
        actor: q.actor,
        from: q.from,
        to: q.to,
        before: q.before === undefined ? undefined : BigInt(q.before),
        limit: q.limit,
      });
      return {
        entries: page.entries.map((e) => ({ ...e, at: e.at.toISOString() })),
        next: page.next,
      };
    },
  );
};
