/**
 * Bulk import and export over HTTP (docs/import.md): upload a CSV or Excel file of customers, accounts or
 * meters (the body is the file: `text/csv` or the xlsx media type), download each import's template, export
 * customers, accounts, meters and the ledger of a period as CSV, and issue MQTT credentials to many meters
 * at once. Operators (and admins) import and issue credentials; operators and service agents export.
 */

import { stringify } from 'csv-stringify/sync';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { IMPORT_KINDS, template } from '../../import/columns.ts';
import { issueFleetCredentials } from '../../import/credentials.ts';
import { exportLedger, exportTable, type PeriodBound } from '../../import/export.ts';
import { runImport } from '../../import/run.ts';
import { readSheet, SheetError, sniffFormat, writeXlsx, XLSX_MEDIA_TYPE } from '../../import/sheet.ts';
import type { MeterSecretKey } from '../../security/secrets.ts';
import type { Database } from '../../store/schema.ts';
import { principalOf } from '../auth.ts';
import { AppError } from '../errors.ts';
import { actorFor, QueryBool } from './admin-shared.ts';

export interface ImportRoutesOptions {
  readonly db: Kysely<Database>;
  /** The broker URL written into issued credentials. */
  readonly brokerUrl?: string | null;
  /** Largest upload, bytes (default 50 MiB: some 300,000 meter rows). */
  readonly uploadLimit?: number;
  /** Stores issued meter passwords as the broker verifies them (keyed HMAC). */
  readonly meterSecretKey?: MeterSecretKey;
}

const Kind = z.enum(IMPORT_KINDS);

const ImportReportOut = z.object({
  kind: Kind,
  dryRun: z.boolean(),
  allOrNothing: z.boolean(),
  rows: z.number().describe('data rows read (the header is row 1)'),
  added: z.number().describe('rows written (in a dry run: rows that would be written)'),
  skipped: z.array(z.object({ row: z.number(), key: z.string() })).describe('natural key already stored'),
  errors: z.array(z.object({ row: z.number(), column: z.string(), reason: z.string() })),
  ignoredColumns: z.array(z.string()),
  written: z.boolean(),
});

const Credential = z.object({
  serial: z.string(),
  username: z.string(),
  password: z.string().describe('shown once; only its scrypt hash is stored'),
  clientId: z.string(),
  topicRoot: z.string(),
  kind: z.enum(['electricity', 'water']),
  mode: z.enum(['token', 'central']),
  drn: z.string().nullable(),
  sgc: z.number().nullable(),
});

/** A period bound: an ISO 8601 instant, or a date meaning the start of that day in the utility's zone. */
const Bound = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()])
  .transform((s): PeriodBound => (s.length === 10 ? { date: s } : { instant: new Date(s) }))
  .describe(
    "ISO 8601 date-time (with Z or an offset), or a date: that day's start in the utility's time zone",
  );

const approxMs = (b: PeriodBound) =>
  'instant' in b ? b.instant.getTime() : Date.parse(`${b.date}T00:00:00Z`);
const label = (b: PeriodBound) => ('instant' in b ? b.instant.toISOString().slice(0, 10) : b.date);

export const importRoutes: FastifyPluginAsync<ImportRoutesOptions> = async (fastify, opts) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;
  const bodyLimit = opts.uploadLimit ?? 50 * 1024 * 1024;
  // Uploads arrive as the file itself; this parser lives only in this plugin's routes.
  fastify.addContentTypeParser(
    ['text/csv', 'text/plain', XLSX_MEDIA_TYPE, 'application/octet-stream'],
    { parseAs: 'buffer', bodyLimit },
    (_req, body, done) => done(null, body),
  );

  app.post(
    '/api/v1/imports/:kind',
    {
      config: { access: ['operator'] },
      bodyLimit,
      schema: {
        tags: ['import and export'],
        summary:
          "Import customers, accounts, meters or the civil registry's deaths: the body is a CSV file (text/csv) or an Excel workbook (xlsx)",
        description:
          'Columns by header name (docs/import.md). Every bad row is reported with its row number, column and ' +
          'reason; rows whose natural key (national id, account number, meter serial) is stored already are ' +
          'skipped. `dryRun` writes nothing; `allOrNothing` writes every good row only when no row is bad.',
        consumes: ['text/csv', XLSX_MEDIA_TYPE],
        params: z.object({ kind: Kind }),
        querystring: z.object({
          dryRun: QueryBool.default(false),
          allOrNothing: QueryBool.default(false),
          filename: z.string().max(200).optional().describe('the file name, for the audit row'),
        }),
        response: { 200: ImportReportOut },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const body = req.body as unknown;
      if (!Buffer.isBuffer(body) || body.length === 0) {
        throw new AppError('import_file_invalid', 'send the file as the body (text/csv or xlsx)');
      }
      const type = String(req.headers['content-type'] ?? '');
      const format = type.startsWith(XLSX_MEDIA_TYPE) ? 'xlsx' : sniffFormat(body);
      try {
        const sheet = await readSheet(body, format);
        return await runImport({
          db,
          utilityId: p.utilityId,
          kind: req.params.kind,
          sheet,
          actor: actorFor(p),
          dryRun: req.query.dryRun,
          allOrNothing: req.query.allOrNothing,
          ...(req.query.filename ? { source: req.query.filename } : {}),
        });
      } catch (err) {
        if (err instanceof SheetError) throw new AppError('import_file_invalid', err.message);
        throw err;
      }
    },
  );

  app.get(
    '/api/v1/imports/:kind/template',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['import and export'],
        summary: "An import's template: its header row and one example row, CSV or xlsx",
        params: z.object({ kind: Kind }),
        querystring: z.object({ format: z.enum(['csv', 'xlsx']).default('csv') }),
        produces: ['text/csv', XLSX_MEDIA_TYPE],
      },
    },
    async (req, reply) => {
      const t = template(req.params.kind);
      const name = `rasid-${req.params.kind}-template.${req.query.format}`;
      reply.header('content-disposition', `attachment; filename="${name}"`);
      if (req.query.format === 'xlsx')
        return reply.type(XLSX_MEDIA_TYPE).send(await writeXlsx(t.headers, [t.example]));
      return reply.type('text/csv; charset=utf-8').send(stringify([t.headers, t.example]));
    },
  );

  app.get(
    '/api/v1/exports/:kind',
    {
      config: { access: ['operator', 'service'] },
      schema: {
        tags: ['import and export'],
        summary:
          'Export customers, accounts or meters as CSV (the columns of their import), or the account ledger of a period',
        params: z.object({ kind: z.enum(['customers', 'accounts', 'meters', 'ledger']) }),
        querystring: z.object({
          from: Bound.optional().describe('ledger: from (inclusive)'),
          to: Bound.optional().describe('ledger: to (exclusive)'),
        }),
        produces: ['text/csv'],
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const kind = req.params.kind;
      let body: string;
      let name: string;
      if (kind === 'ledger') {
        const { from, to } = req.query;
        if (!from || !to)
          throw new AppError('validation_failed', 'querystring.from, to: the period is required');
        const span = approxMs(to) - approxMs(from);
        if (span <= 0) throw new AppError('validation_failed', 'querystring.to: must be after from');
        if (span > 367 * 86_400_000) {
          throw new AppError('validation_failed', 'querystring.to: a period of at most 366 days');
        }
        body = await exportLedger(db, p.utilityId, from, to);
        name = `rasid-ledger-${label(from)}-${label(to)}.csv`;
      } else {
        body = await exportTable(db, p.utilityId, kind);
        name = `rasid-${kind}.csv`;
      }
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}"`)
        .send(body);
    },
  );

  app.post(
    '/api/v1/meters/mqtt-credentials',
    {
      config: { access: ['operator'] },
      schema: {
        tags: ['meters online'],
        summary:
          'Issue MQTT credentials to many meters at once (e.g. an imported fleet); passwords are shown once, stored hashed',
        description:
          'By default every meter of the utility without credentials (not decommissioned); `serials` or ' +
          '`serialPrefix` narrow it, `rotate` re-issues meters that have some. The answer is the file ' +
          '`rasid sim fleet --credentials` reads.',
        body: z.object({
          serials: z
            .array(z.string().regex(/^[A-Za-z0-9._-]{1,40}$/))
            .max(5000)
            .optional(),
          serialPrefix: z
            .string()
            .regex(/^[A-Za-z0-9._-]{1,40}$/)
            .optional(),
          rotate: z.boolean().default(false),
          limit: z.number().int().min(1).max(5000).default(1000),
        }),
        response: {
          201: z.object({
            utility: z.string(),
            brokerUrl: z.string().nullable(),
            issuedAt: z.string(),
            meters: z.array(Credential),
          }),
        },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const out = await issueFleetCredentials({
        db,
        utilityId: p.utilityId,
        actor: actorFor(p),
        serials: req.body.serials,
        serialPrefix: req.body.serialPrefix,
        rotate: req.body.rotate,
        limit: req.body.limit,
        brokerUrl: opts.brokerUrl ?? null,
        hash: opts.meterSecretKey?.hash.bind(opts.meterSecretKey),
      });
      return reply.status(201).header('cache-control', 'no-store').send(out);
    },
  );
};
