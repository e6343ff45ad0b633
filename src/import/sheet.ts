/**
 * Reading an import file: CSV (csv-parse) or an Excel workbook's first sheet (exceljs) as rows of cells by
 * header name. Row numbers are the file's own (the header is row 1), so a report points at the line a
 * person sees in a spreadsheet. Headers are matched case-insensitively, spaces and hyphens read as `_`.
 */
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';

export type SheetFormat = 'csv' | 'xlsx';

export const XLSX_MEDIA_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

export interface SheetRow {
  /** The row number in the file: the header is row 1. */
  readonly row: number;
  readonly cells: Readonly<Record<string, string>>;
}

export interface Sheet {
  readonly headers: readonly string[];
  readonly rows: readonly SheetRow[];
}

/** A file that cannot be read as a table at all (not CSV, no header row, a broken workbook). */
export class SheetError extends Error {
  override readonly name = 'SheetError';
}

export function normaliseHeader(h: string): string {
  return h
    .replace(/^\uFEFF/, '')
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
}

/** The format of a file from its name (`.xlsx` is a workbook, anything else is read as CSV). */
export function formatOfName(name: string): SheetFormat {
  return /\.xlsx$/i.test(name) ? 'xlsx' : 'csv';
}

/** The format of an upload: a ZIP (an xlsx workbook) starts with `PK\x03\x04`. */
export function sniffFormat(data: Uint8Array): SheetFormat {
  return data[0] === 0x50 && data[1] === 0x4b && data[2] === 0x03 && data[3] === 0x04 ? 'xlsx' : 'csv';
}

export async function readSheet(data: Uint8Array, format: SheetFormat): Promise<Sheet> {
  return format === 'xlsx' ? readXlsx(data) : readCsv(data);
}

function readCsv(data: Uint8Array): Sheet {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(Buffer.from(data), {
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      trim: false,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (err) {
    throw new SheetError(`not a readable CSV file: ${err instanceof Error ? err.message : String(err)}`);
  }
  const [head, ...body] = records;
  if (!head) throw new SheetError('the file is empty: a header row is needed');
  const headers = head.record.map(normaliseHeader);
  const rows: SheetRow[] = [];
  for (const { record, info } of body) {
    if (record.every((c) => c.trim() === '')) continue;
    const cells: Record<string, string> = {};
    headers.forEach((h, i) => {
      if (h !== '') cells[h] = record[i] ?? '';
    });
    // info.lines is the line the record ends on: a quoted cell may span lines, the report names its last.
    rows.push({ row: info.lines, cells });
  }
  return { headers, rows };
}

function cellText(value: ExcelJS.CellValue): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  if (typeof value === 'object') {
    if ('richText' in value) return value.richText.map((r) => r.text).join('');
    if ('text' in value) return String(value.text);
    if ('result' in value)
      return value.result === undefined ? '' : cellText(value.result as ExcelJS.CellValue);
    if ('error' in value) return '';
  }
  return String(value);
}

async function readXlsx(data: Uint8Array): Promise<Sheet> {
  const book = new ExcelJS.Workbook();
  try {
    await book.xlsx.load(Buffer.from(data) as unknown as ArrayBuffer);
  } catch (err) {
    throw new SheetError(
      `not a readable Excel workbook: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const sheet = book.worksheets[0];
  if (!sheet || sheet.rowCount === 0) throw new SheetError('the workbook has no sheet with a header row');
  const headerRow = sheet.getRow(1);
  const headers: string[] = [];
  headerRow.eachCell({ includeEmpty: true }, (cell, col) => {
    headers[col - 1] = normaliseHeader(cellText(cell.value));
  });
  const rows: SheetRow[] = [];
  sheet.eachRow({ includeEmpty: false }, (row, n) => {
    if (n === 1) return;
    const cells: Record<string, string> = {};
    let any = false;
    headers.forEach((h, i) => {
      if (!h) return;
      const text = cellText(row.getCell(i + 1).value);
      if (text.trim() !== '') any = true;
      cells[h] = text;
    });
    if (any) rows.push({ row: n, cells });
  });
  return { headers: headers.map((h) => h ?? ''), rows };
}

/** A workbook with one sheet: a header row and rows of text cells (templates and tests). */
export async function writeXlsx(headers: readonly string[], rows: readonly (readonly string[])[]) {
  const book = new ExcelJS.Workbook();
  const sheet = book.addWorksheet('rasid');
  sheet.addRow([...headers]);
  for (const r of rows) sheet.addRow([...r]);
  return Buffer.from(await book.xlsx.writeBuffer());
}
