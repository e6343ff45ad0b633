/**
 * Tenants and settings over HTTP:
 * - POST /api/v1/utilities: a platform administrator (the first install's admin, `users.platform_admin`)
 *   creates a further utility with its own admin (src/utilities/create.ts, as `rasid init` does);
 * - staff users of the caller's utility (usernames unique within a utility): list and create (admin);
 * - the utility's settings (src/utilities/settings.ts): read (staff), change (admin), every change audited;
 * - public holidays and no-disconnect periods: entered as Gregorian dates in the utility's time zone and
 *   shown with the Hijri (Umm al-Qura) date beside them; added and removed with a reason, audited.
 *
 * The utilities module (src/utilities) holds the reads and the writes.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { localTime } from '../../balance/calendar.ts';
import type { Database, UtilityId } from '../../store/schema.ts';
import { NewUtilityInput, StaffPassword, Username } from '../../utilities/create.ts';
import { listNoDisconnectPeriods, listStaffUsers } from '../../utilities/queries.ts';
import {
  addNoDisconnectPeriod,
  createStaffUser,
  createTenant,
  removeNoDisconnectPeriod,
} from '../../utilities/service.ts';
import {
  hijriOf,
  loadUtilitySettings,
  SettingsPatch,
  type UtilitySettings,
  updateUtilitySettings,
} from '../../utilities/settings.ts';
import { principalOf } from '../auth.ts';
import { AppError } from '../errors.ts';
import { actorFor } from './admin-shared.ts';

export interface UtilityRoutesOptions {
  readonly db: Kysely<Database>;
}

const SettingsOut = z.object({
  code: z.string(),
  name: z.string(),
  nameAr: z.string().nullable(),
  country: z.string().nullable(),
  currency: z.string(),
  exponent: z.number(),
  timezone: z.string(),
  taxRateBp: z.number(),
  weekend: z.array(z.string()),
  friendlyHours: z.object({ from: z.string(), to: z.string() }).nullable(),
  lowCreditMinor: z.string().nullable(),
  lowCreditDays: z.number().nullable(),
  emergencyCreditMinor: z.string(),
  minPurchaseMinor: z.string(),
  receipt: z.object({
    header: z.object({ en: z.string().nullable(), ar: z.string().nullable() }),
    footer: z.object({ en: z.string().nullable(), ar: z.string().nullable() }),
  }),
  smsSender: z.string().nullable(),
  deceasedGraceDays: z.number(),
  outreachStallDays: z.number(),
  lossAlertBp: z.number().nullable(),
});

function settingsOut(s: UtilitySettings): z.infer<typeof SettingsOut> {
  return {
    code: s.code,
    name: s.name,
    nameAr: s.nameAr,
    country: s.country,
    currency: s.currency,
    exponent: s.exponent,
    timezone: s.timezone,
    taxRateBp: s.taxRateBp,
    weekend: [...s.weekend],
    friendlyHours: s.friendlyHours,
    lowCreditMinor: s.lowCreditMinor === null ? null : s.lowCreditMinor.toString(),
    lowCreditDays: s.lowCreditDays,
    emergencyCreditMinor: s.emergencyCreditMinor.toString(),
    minPurchaseMinor: s.minPurchaseMinor.toString(),
    receipt: s.receipt,
    smsSender: s.smsSender,
    deceasedGraceDays: s.deceasedGraceDays,
    outreachStallDays: s.outreachStallDays,
    lossAlertBp: s.lossAlertBp,
  };
}

const DateOnly = z.iso.date().describe('a Gregorian date, YYYY-MM-DD, in the utility’s time zone');
const PeriodOut = z.object({
  id: z.string(),
  kind: z.enum(['public_holiday', 'declared']),
  from: z.string().describe('first day (Gregorian)'),
  to: z.string().describe('last day (Gregorian), inclusive'),
  fromHijri: z.object({ ar: z.string(), en: z.string() }),
  toHijri: z.object({ ar: z.string(), en: z.string() }),
  startsAt: z.string(),
  endsAt: z.string(),
  reason: z.string(),
});

const StaffRole = z.enum(['operator', 'technician', 'service', 'admin']);
const UserOut = z.object({
  id: z.string(),
  username: z.string(),
  displayName: z.string().nullable(),
  role: z.string(),
  disabled: z.boolean(),
  createdAt: z.string(),
});

function dayOf(at: Date, timeZone: string): string {
  const l = localTime(at, timeZone);
  return `${l.year}-${String(l.month).padStart(2, '0')}-${String(l.day).padStart(2, '0')}`;
}

export const utilityRoutes: FastifyPluginAsync<UtilityRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;

  async function settingsOrThrow(utilityId: UtilityId): Promise<UtilitySettings> {
    const s = await loadUtilitySettings(db, utilityId);
    if (!s) throw new AppError('not_found', 'the utility is unknown');
    return s;
  }

  app.post(
    '/api/v1/utilities',
    {
      config: { access: [] },
      schema: {
        tags: ['utilities'],
        summary:
          'A platform administrator creates a further utility and its first admin (usernames are unique within a utility)',
        body: NewUtilityInput,
        response: {
          201: z.object({
            id: z.string(),
            code: z.string(),
            currency: z.string(),
            exponent: z.number(),
            admin: z.string(),
          }),
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const by = actorFor(p);
      const made = await createTenant(db, by.userId, req.body, by);
      return reply.status(201).send({
        id: made.utilityId,
        code: made.code,
        currency: made.currency,
        exponent: made.exponent,
        admin: req.body.admin,
      });
    },
  );

  app.get(
    '/api/v1/users',
    {
      config: { access: [] },
      schema: {
        tags: ['utilities'],
        summary: "The utility's staff users",
        response: { 200: z.object({ users: z.array(UserOut) }) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const rows = await listStaffUsers(db, p.utilityId);
      return {
        users: rows.map((u) => ({
          id: u.id,
          username: u.username,
          displayName: u.display_name,
          role: u.role,
          disabled: u.disabled_at !== null,
          createdAt: u.created_at.toISOString(),
        })),
      };
    },
  );

  app.post(
    '/api/v1/users',
    {
      config: { access: [] },
      schema: {
        tags: ['utilities'],
        summary:
          'Create a staff user (operator, technician, service, admin); the username is unique within the utility',
        body: z.object({
          username: Username,
          displayName: z.string().trim().min(1).max(200).optional(),
          role: StaffRole,
          password: StaffPassword,
        }),
        response: { 201: UserOut },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const u = await createStaffUser(db, p.utilityId, req.body, actorFor(p));
      return reply.status(201).send({
        id: u.id,
        username: u.username,
        displayName: u.display_name,
        role: u.role,
        disabled: false,
        createdAt: u.created_at.toISOString(),
      });
    },
  );

  app.get(
    '/api/v1/utility/settings',
    {
      config: { access: ['operator', 'technician', 'service'] },
      schema: {
        tags: ['utilities'],
        summary:
          "The utility's settings: tax, weekend, friendly-credit hours, thresholds, minimum purchase, receipt texts, SMS sender",
        response: { 200: SettingsOut },
      },
    },
    async (req) => settingsOut(await settingsOrThrow(principalOf(req).utilityId)),
  );

  app.patch(
    '/api/v1/utility/settings',
    {
      config: { access: [] },
      schema: {
        tags: ['utilities'],
        summary:
          'Change settings (only the fields given); audited with each field before and after; the balance engine, vending and receipts use them without a restart',
        body: SettingsPatch,
        response: { 200: SettingsOut },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return settingsOut(await updateUtilitySettings(db, p.utilityId, req.body, actorFor(p).actor));
    },
  );

  app.get(
    '/api/v1/utility/no-disconnect-periods',
    {
      config: { access: ['operator', 'service', 'technician'] },
      schema: {
        tags: ['utilities'],
        summary: 'Public holidays and declared no-disconnect periods, with their Hijri dates',
        querystring: z.object({ from: DateOnly.optional() }),
        response: { 200: z.object({ periods: z.array(PeriodOut) }) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const s = await settingsOrThrow(p.utilityId);
      const rows = await listNoDisconnectPeriods(db, p.utilityId, {
        timezone: s.timezone,
        from: req.query.from,
      });
      return {
        periods: rows.map((r) => {
          const from = dayOf(r.starts_at, s.timezone);
          const to = dayOf(new Date(r.ends_at.getTime() - 1), s.timezone);
          return {
            id: String(r.id),
            kind: r.kind,
            from,
            to,
            fromHijri: hijriOf(from),
            toHijri: hijriOf(to),
            startsAt: r.starts_at.toISOString(),
            endsAt: r.ends_at.toISOString(),
            reason: r.reason,
          };
        }),
      };
    },
  );

  app.post(
    '/api/v1/utility/no-disconnect-periods',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['utilities'],
        summary:
          'Add a public holiday or a declared no-disconnect period (Eid, a national day, a heat alert): whole days from–to in the utility’s time zone, with a reason',
        body: z
          .object({
            kind: z.enum(['public_holiday', 'declared']),
            from: DateOnly,
            to: DateOnly,
            reason: z.string().trim().min(3).max(300),
          })
          .refine((b) => b.to >= b.from, { message: 'to: on or after from', path: ['to'] }),
        response: { 201: PeriodOut },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const s = await settingsOrThrow(p.utilityId);
      const row = await addNoDisconnectPeriod(
        db,
        p.utilityId,
        { ...req.body, timezone: s.timezone },
        actorFor(p),
      );
      return reply.status(201).send({
        id: String(row.id),
        kind: row.kind,
        from: req.body.from,
        to: req.body.to,
        fromHijri: hijriOf(req.body.from),
        toHijri: hijriOf(req.body.to),
        startsAt: row.starts_at.toISOString(),
        endsAt: row.ends_at.toISOString(),
        reason: row.reason,
      });
    },
  );

  app.delete(
    '/api/v1/utility/no-disconnect-periods/:id',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['utilities'],
        summary: 'Remove a no-disconnect period, with a reason (audited with what it was)',
        params: z.object({ id: z.string().regex(/^[0-9]{1,18}$/) }),
        body: z.object({ reason: z.string().trim().min(3).max(300) }),
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      await removeNoDisconnectPeriod(db, p.utilityId, req.params.id, req.body.reason, actorFor(p));
      return reply.status(204).send();
    },
  );
};
