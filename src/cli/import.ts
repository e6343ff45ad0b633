/**
 * `rasid import customers|accounts|meters|deaths FILE`: loads a utility's customers, accounts, meters or deaths from a CSV
 * file or an Excel workbook (columns by header name, docs/import.md), reporting every bad row with its row
 * number, column and reason, and every row skipped because it is there already. `rasid import template KIND`
 * writes the template of a file. Exit codes: 0 when no row is bad, 1 when some are (or the file cannot be
 * read), 2 for a mistake in the call.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { IMPORT_KINDS, type ImportKind, template } from '../import/columns.ts';
import type { ImportReport } from '../import/run.ts';
import { formatOfName, SheetError, sniffFormat, writeXlsx } from '../import/sheet.ts';
import { EXIT, UsageError } from './errors.ts';
import { cliUtility, openCliStore } from './store.ts';

function kindOf(value: string): ImportKind {
  if (!(IMPORT_KINDS as readonly string[]).includes(value)) {
    throw new UsageError(`expected one of ${IMPORT_KINDS.join(', ')} (or template), got '${value}'`);
  }
  return value as ImportKind;
}

/** The report for people: totals, then one line per bad or skipped row (at most `limit` of each). */
export function formatReport(report: ImportReport, limit = 50): string {
  const lines: string[] = [];
  const verb = report.dryRun ? 'would add' : 'added';
  lines.push(
    `${report.kind}: ${report.rows} rows, ${verb} ${report.added}, skipped ${report.skipped.length} already there, ` +
      `${report.errors.length} problem${report.errors.length === 1 ? '' : 's'}` +
      (report.dryRun ? ' (dry run: nothing written)' : '') +
      (report.allOrNothing && !report.dryRun && report.errors.length > 0
        ? ' (all or nothing: nothing written)'
        : ''),
  );
  if (report.ignoredColumns.length > 0) lines.push(`ignored columns: ${report.ignoredColumns.join(', ')}`);
  for (const e of report.errors.slice(0, limit)) lines.push(`row ${e.row}, ${e.column}: ${e.reason}`);
  if (report.errors.length > limit)
    lines.push(`... and ${report.errors.length - limit} more problems (--json lists all)`);
  for (const s of report.skipped.slice(0, limit))
    lines.push(`row ${s.row}: skipped, ${s.key} is there already`);
  if (report.skipped.length > limit)
    lines.push(`... and ${report.skipped.length - limit} more skipped (--json lists all)`);
  return `${lines.join('\n')}\n`;
}

export function registerImportCommand(program: Command): void {
  program
    .command('import')
    .description(
      "import customers, accounts, meters or the civil registry's deaths from a CSV or Excel (.xlsx) file (see docs/import.md)",
    )
    .argument('<kind>', `${IMPORT_KINDS.join(' | ')}, or template`)
    .argument('<file>', 'the CSV or .xlsx file (for template: the kind, then write to stdout or --out)')
    .option('--utility <code>', 'the utility to import into (default: the only one in the store)')
    .option('--dry-run', 'check every row and report, writing nothing')
    .option('--all-or-nothing', 'write every good row only when no row is bad')
    .option('--json', 'print the report as one JSON object (every problem and skipped row)')
    .option('--format <format>', 'csv | xlsx (default: from the file name, then its content)')
    .option('--out <file>', 'template: write here (a .xlsx name writes a workbook)')
    .addHelpText(
      'after',
      `
Columns by header name (the header is row 1; order does not matter; unknown columns are ignored):
  customers  national_id*, name*, name_ar, phone, email, language
  accounts   account_number*, national_id*, address*, area, tariff_code, subsidy_eligible
  meters     serial*, kind*, protocol*, mode*, account_number, sts_iin, sts_drn, sts_sgc, sts_ti,
             sts_krn, sts_kt, sts_ea, sts_base_date, sts_ken
  deaths     national_id*, date_of_death*, evidence_ref*   (the civil registry's deaths: docs/customer-service.md)
  (* required.) Import customers, then accounts, then meters. A row whose national id, account number or
  serial is in the store already is skipped, so running the same file again adds nothing.

Examples:
  rasid import template customers --out customers.csv
  rasid import customers customers.csv --dry-run
  rasid import meters meters.xlsx --utility muscat --all-or-nothing --json`,
    )
    .action(async (kindArg: string, file: string, flags: Record<string, unknown>) => {
      if (kindArg === 'template') {
        await writeTemplate(kindOf(file), flags.out as string | undefined);
        return;
      }
      const kind = kindOf(kindArg);
      const format = flags.format as string | undefined;
      if (format !== undefined && format !== 'csv' && format !== 'xlsx') {
        throw new UsageError(`--format: expected csv or xlsx, got '${format}'`);
      }
      let data: Buffer;
      try {
        data = await readFile(file);
      } catch (err) {
        throw new UsageError(`${file}: ${err instanceof Error ? err.message : String(err)}`);
      }
      const json = flags.json === true;
      const { readSheet } = await import('../import/sheet.ts');
      const { runImport } = await import('../import/run.ts');
      const store = await openCliStore();
      try {
        const utility = await cliUtility(store, flags.utility as string | undefined);
        const sheetFormat =
          (format as 'csv' | 'xlsx' | undefined) ??
          (formatOfName(file) === 'xlsx' ? 'xlsx' : sniffFormat(data));
        let report: ImportReport;
        const bar =
          process.stderr.isTTY && !json
            ? new cliProgress.SingleBar(
                {
                  format: `${kind} {bar} {percentage}% | {value}/{total} rows | {eta_formatted} left`,
                  stream: process.stderr,
                },
                cliProgress.Presets.shades_classic,
              )
            : null;
        try {
          const sheet = await readSheet(data, sheetFormat);
          bar?.start(sheet.rows.length, 0);
          report = await runImport({
            db: store.db,
            utilityId: utility.id,
            kind,
            sheet,
            actor: { actor: 'system:cli-import', userId: null },
            dryRun: flags.dryRun === true,
            allOrNothing: flags.allOrNothing === true,
            source: basename(file),
            onProgress: (done) => bar?.update(done),
          });
        } catch (err) {
          bar?.stop();
          if (!(err instanceof SheetError)) throw err;
          if (json) process.stdout.write(`${JSON.stringify({ kind, error: err.message })}\n`);
          else process.stderr.write(`rasid: ${file}: ${err.message}\n`);
          process.exitCode = EXIT.failure;
          return;
        }
        bar?.stop();
        process.stdout.write(
          json ? `${JSON.stringify({ utility: utility.code, ...report })}\n` : formatReport(report),
        );
        process.exitCode = report.errors.length > 0 ? EXIT.failure : EXIT.ok;
      } finally {
        await store.close();
      }
    });
}

async function writeTemplate(kind: ImportKind, out: string | undefined): Promise<void> {
  const t = template(kind);
  if (out !== undefined && /\.xlsx$/i.test(out)) {
    await writeFile(out, await writeXlsx(t.headers, [t.example]));
    return;
  }
  const text = stringify([t.headers, t.example]);
  if (out === undefined) process.stdout.write(text);
  else await writeFile(out, text);
}
