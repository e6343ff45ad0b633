/**
 * Deceased account holders over HTTP (docs/customer-service.md, "Deceased holders"): an agent records a
 * holder's death (the civil registry's come by import, `POST /api/v1/imports/deaths`), the outreach worklist
 * and one outreach with the family's contacts and call attempts, the confirming SMS, the transfer to an heir
 * from the case, and the outreach figures. Customer-service agents and operators.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import {
  addContact,
  DECEASED_STATUSES,
  OUTREACH_OUTCOMES,
  type OutreachDetail,
  type OutreachItem,
  outreachDetail,
  outreachKpi,
  recordAttempt,
  recordDeathByAgent,
  sendConfirmation,
  transferToHeir,
  worklist,
} from '../../deceased/service.ts';
import type { CustomerId, Database } from '../../store/schema.ts';
import { principalOf } from '../auth.ts';
import { AppError } from '../errors.ts';
import { actorFor, Instant, iso, Paging, Phone, QueryBool } from './admin-shared.ts';

export interface DeceasedRoutesOptions {
  readonly db: Kysely<Database>;
  readonly now?: () => Date;
}

const STAFF = ['operator', 'service'] as const;
const Language = z.enum(['ar', 'en']);
const Evidence = z.string().trim().min(1).max(200);

const ItemOut = z.object({
  id: z.string(),
  status: z.enum(DECEASED_STATUSES),
  subsidised: z.boolean(),
  account: z.object({ id: z.string(), number: z.string(), subsidyEligible: z.boolean() }),
  holder: z.object({
    id: z.string(),
    name: z.string(),
    nameAr: z.string().nullable(),
    nationalId: z.string().nullable(),
  }),
  dateOfDeath: z.string(),
  evidenceRef: z.string(),
  source: z.enum(['registry', 'agent']),
  case: z.object({ id: z.string(), number: z.string(), status: z.string() }).nullable(),
  markedAt: z.string(),
  graceEndsAt: z.string().nullable(),
  graceDaysLeft: z.number().nullable(),
  attempts: z.number(),
  lastAttemptAt: z.string().nullable(),
  firstReachedAt: z.string().nullable(),
  stalled: z.boolean(),
  transferredAt: z.string().nullable(),
  subsidyCarried: z.boolean().nullable(),
  endedAt: z.string().nullable(),
});

const ContactOut = z.object({
  id: z.string(),
  name: z.string(),
  relation: z.string().nullable(),
  phone: z.string().nullable(),
  language: Language,
});

const AttemptOut = z.object({
  id: z.string(),
  contactId: z.string().nullable(),
  contactName: z.string().nullable(),
  outcome: z.enum(OUTREACH_OUTCOMES),
  note: z.string().nullable(),
  actor: z.string(),
  at: z.string(),
});

const DetailOut = ItemOut.extend({ contacts: z.array(ContactOut), history: z.array(AttemptOut) });

function itemOut(i: OutreachItem): z.infer<typeof ItemOut> {
  return {
    id: i.id,
    status: i.status,
    subsidised: i.subsidised,
    account: i.account,
    holder: i.holder,
    dateOfDeath: i.dateOfDeath,
    evidenceRef: i.evidenceRef,
    source: i.source,
    case: i.case,
    markedAt: i.markedAt.toISOString(),
    graceEndsAt: iso(i.graceEndsAt),
    graceDaysLeft: i.graceDaysLeft,
    attempts: i.attempts,
    lastAttemptAt: iso(i.lastAttemptAt),
    firstReachedAt: iso(i.firstReachedAt),
    stalled: i.stalled,
    transferredAt: iso(i.transferredAt),
    subsidyCarried: i.subsidyCarried,
    endedAt: iso(i.endedAt),
  };
}

function detailOut(d: OutreachDetail): z.infer<typeof DetailOut> {
  return {
    ...itemOut(d),
    contacts: d.contacts.map((c) => ({ ...c })),
    history: d.history.map((h) => ({ ...h, at: h.at.toISOString() })),
  };
}

const Params = z.object({ id: z.uuid() });

export const deceasedRoutes: FastifyPluginAsync<DeceasedRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;
  const now = opts.now ?? (() => new Date());
  const tags = ['deceased holders'];

  app.post(
    '/api/v1/customers/:customerId/death',
    {
      config: { access: [...STAFF] },
      schema: {
        tags,
        summary:
          "Record a holder's death: every account of theirs is marked, each subsidised one gets an outreach case and its subsidy held",
        params: z.object({ customerId: z.uuid() }),
        body: z.object({
          dateOfDeath: z.iso.date().describe('YYYY-MM-DD'),
          evidenceRef: Evidence.describe('the death certificate or civil registry reference seen'),
        }),
        response: {
          201: z.object({
            deathId: z.string(),
            customerId: z.string(),
            accounts: z.array(
              z.object({
                id: z.string(),
                accountId: z.string(),
                accountNumber: z.string(),
                subsidised: z.boolean(),
                status: z.enum(DECEASED_STATUSES),
                caseId: z.string().nullable(),
                caseNumber: z.string().nullable(),
                graceEndsAt: z.string().nullable(),
              }),
            ),
          }),
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const at = now();
      if (req.body.dateOfDeath > at.toISOString().slice(0, 10)) {
        throw new AppError('validation_failed', 'body.dateOfDeath: the date of death is in the future');
      }
      const out = await recordDeathByAgent(
        db,
        {
          utilityId: p.utilityId,
          customerId: req.params.customerId as CustomerId,
          dateOfDeath: req.body.dateOfDeath,
          evidenceRef: req.body.evidenceRef,
          actor: actorFor(p).actor,
        },
        at,
      );
      return reply.status(201).send({
        deathId: out.deathId,
        customerId: out.customerId,
        accounts: out.accounts.map((a) => ({ ...a, graceEndsAt: iso(a.graceEndsAt) })),
      });
    },
  );

  app.get(
    '/api/v1/deceased-accounts',
    {
      config: { access: [...STAFF] },
      schema: {
        tags,
        summary: 'The outreach worklist: accounts of dead holders, held ones first by nearest grace end',
        querystring: z.object({
          status: z
            .string()
            .regex(/^(held|transferred|ended|noted)(,(held|transferred|ended|noted))*$/)
            .default('held')
            .describe('comma list of held, transferred, ended, noted (default held: the work to do)'),
          stalled: QueryBool.optional().describe('held with no call attempt for the stall days'),
          ...Paging,
        }),
        response: { 200: z.object({ items: z.array(ItemOut) }) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const items = await worklist(
        db,
        {
          utilityId: p.utilityId,
          status: req.query.status.split(',') as (typeof DECEASED_STATUSES)[number][],
          stalled: req.query.stalled,
          limit: req.query.limit,
          offset: req.query.offset,
        },
        now(),
      );
      return { items: items.map(itemOut) };
    },
  );

  app.get(
    '/api/v1/deceased-accounts/kpi',
    {
      config: { access: [...STAFF] },
      schema: {
        tags,
        summary:
          'Outreach figures: subsidised accounts found, families contacted, transferred with the subsidy kept, ended, time to transfer',
        querystring: z.object({
          from: Instant.optional().describe('accounts marked from (inclusive)'),
          to: Instant.optional().describe('accounts marked before (exclusive)'),
        }),
        response: {
          200: z.object({
            from: z.string().nullable(),
            to: z.string().nullable(),
            accountsMarked: z.number(),
            found: z.number(),
            contacted: z.number(),
            transferred: z.number(),
            transferredWithSubsidy: z.number(),
            ended: z.number(),
            pending: z.number(),
            stalled: z.number(),
            updatedShare: z.number().nullable().describe('transferred / found, per cent'),
            contactedShare: z.number().nullable().describe('contacted / found, per cent'),
            daysToTransfer: z.object({ mean: z.number().nullable(), median: z.number().nullable() }),
          }),
        },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const k = await outreachKpi(db, p.utilityId, { from: req.query.from, to: req.query.to }, now());
      return { ...k, from: iso(k.from), to: iso(k.to) };
    },
  );

  app.get(
    '/api/v1/deceased-accounts/:id',
    {
      config: { access: [...STAFF] },
      schema: {
        tags,
        summary: 'One outreach: the account, the death, the case, the family contacts and every call attempt',
        params: Params,
        response: { 200: DetailOut },
      },
    },
    async (req) => detailOut(await outreachDetail(db, principalOf(req).utilityId, req.params.id, now())),
  );

  app.post(
    '/api/v1/deceased-accounts/:id/contacts',
    {
      config: { access: [...STAFF] },
      schema: {
        tags,
        summary: 'Add a family contact: name, relation, phone and the language they read',
        params: Params,
        body: z.object({
          name: z.string().trim().min(1).max(200),
          relation: z.string().trim().max(60).nullable().optional(),
          phone: Phone.nullable().optional(),
          language: Language.default('ar'),
        }),
        response: { 201: ContactOut },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const c = await addContact(db, p.utilityId, req.params.id, req.body, actorFor(p), now());
      return reply.status(201).send(c);
    },
  );

  app.post(
    '/api/v1/deceased-accounts/:id/attempts',
    {
      config: { access: [...STAFF] },
      schema: {
        tags,
        summary:
          'Record a call attempt and its outcome (reached, no answer, busy, wrong number, call back, declined)',
        params: Params,
        body: z.object({
          contactId: z.uuid().nullable().default(null),
          outcome: z.enum(OUTREACH_OUTCOMES),
          note: z.string().trim().max(2000).nullable().optional(),
        }),
        response: { 201: AttemptOut },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const a = await recordAttempt(db, p.utilityId, req.params.id, req.body, actorFor(p), now());
      return reply.status(201).send({ ...a, at: a.at.toISOString() });
    },
  );

  app.post(
    '/api/v1/deceased-accounts/:id/confirmation-sms',
    {
      config: { access: [...STAFF] },
      schema: {
        tags,
        summary: "The confirming SMS to a family contact, in the contact's language",
        params: Params,
        body: z.object({ contactId: z.uuid() }),
        response: {
          201: z.object({ notificationIds: z.array(z.string()), language: Language, recipient: z.string() }),
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const out = await sendConfirmation(
        db,
        p.utilityId,
        req.params.id,
        req.body.contactId,
        actorFor(p),
        now(),
      );
      return reply.status(201).send(out);
    },
  );

  app.post(
    '/api/v1/deceased-accounts/:id/transfer',
    {
      config: { access: [...STAFF] },
      schema: {
        tags,
        summary:
          'Transfer the account to an heir from the outreach case (reason death: the subsidy carries when the heir holds no other subsidised account)',
        params: Params,
        body: z.object({
          heir: z.union([
            z.object({ customerId: z.uuid() }).strict(),
            z
              .object({
                nationalId: z.string().trim().min(1).max(40),
                name: z.string().trim().min(1).max(200),
                nameAr: z.string().trim().min(1).max(200).nullable().optional(),
                phone: Phone.nullable().optional(),
                language: Language.default('ar'),
              })
              .strict(),
          ]),
          evidenceRef: Evidence.describe('the inheritance document (e.g. the heirs certificate number)'),
          note: z.string().trim().max(500).nullable().optional(),
        }),
        response: {
          201: z.object({
            outreach: DetailOut,
            heirCustomerId: z.string(),
            heirCreated: z.boolean(),
            subsidyCarried: z.boolean(),
            holderId: z.string(),
            notificationId: z.string().nullable(),
          }),
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const heir =
        'customerId' in req.body.heir
          ? { customerId: req.body.heir.customerId as CustomerId }
          : req.body.heir;
      const out = await transferToHeir(
        db,
        p.utilityId,
        req.params.id,
        { heir, evidenceRef: req.body.evidenceRef, note: req.body.note ?? null },
        actorFor(p),
        now,
      );
      return reply.status(201).send({ ...out, outreach: detailOut(out.outreach) });
    },
  );
};
