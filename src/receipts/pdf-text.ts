/**
 * Bidirectional text on a PDF page. pdfkit shapes Arabic through fontkit (joining forms, lam-alef) but lays
 * a line out in logical order, so mixed Arabic and Latin text would come out scrambled. Each line is first
 * resolved with the Unicode Bidirectional Algorithm (bidi-js): split into runs of one embedding level,
 * ordered visually (rule L2), right-to-left runs mirrored (brackets); each run is then drawn on its own,
 * Arabic runs handed to fontkit in logical order (it shapes them and lays them right to left).
 *
 * The font is DejaVu Sans from the dejavu-fonts-ttf package (Bitstream Vera licence with public-domain
 * changes), embedded in every PDF: it covers Latin and Arabic with the OpenType forms Arabic needs.
 */
import { createRequire } from 'node:module';
import bidiModule from 'bidi-js';
import PDFDocument from 'pdfkit';

const require = createRequire(import.meta.url);
// bidi-js is CommonJS whose export is the factory itself; its typings describe it as an ES default export.
const bidiFactory = bidiModule as unknown as typeof bidiModule.default;
const bidi = bidiFactory();

export const FONTS = Object.freeze({
  regular: require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf'),
  bold: require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf'),
  mono: require.resolve('dejavu-fonts-ttf/ttf/DejaVuSansMono-Bold.ttf'),
});

export type FontName = keyof typeof FONTS;

/**
 * The fonts parsed once per process: pdfkit takes a fontkit font as it is, and fontkit keeps what it has
 * read and shaped on the object, so documents after the first skip parsing the TrueType tables again.
 */
let parsed: Record<FontName, unknown> | null = null;
function fonts(): Record<FontName, unknown> {
  if (!parsed) {
    const fontkit = require('fontkit') as { openSync(path: string): unknown };
    parsed = {
      regular: fontkit.openSync(FONTS.regular),
      bold: fontkit.openSync(FONTS.bold),
      mono: fontkit.openSync(FONTS.mono),
    };
  }
  return parsed;
}
export type Direction = 'rtl' | 'ltr';

/** Formatting characters that steer the algorithm but have no glyph. */
const CONTROLS = /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const ARABIC = /[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]/;

/** One run to draw, in visual order left to right. */
export interface VisualRun {
  readonly text: string;
  readonly rtl: boolean;
}

/** A single line resolved into runs in visual order (left to right on the page). */
export function visualRuns(line: string, base: Direction): VisualRun[] {
  if (line === '') return [];
  const { levels } = bidi.getEmbeddingLevels(line, base);
  // bidi-js reads the levels array here (its typings name the whole result).
  const mirrored = bidi.getMirroredCharactersMap(
    line,
    levels as unknown as Parameters<typeof bidi.getMirroredCharactersMap>[1],
  );
  const runs: { start: number; end: number; level: number }[] = [];
  for (let i = 0; i < line.length; i++) {
    const level = levels[i] ?? 0;
    const last = runs.at(-1);
    if (last && last.level === level) last.end = i + 1;
    else runs.push({ start: i, end: i + 1, level });
  }
  // L2: from the highest level down to the lowest odd one, reverse every sequence of runs at that level or above.
  const max = Math.max(...runs.map((r) => r.level));
  const minOdd = Math.min(...runs.map((r) => (r.level % 2 === 1 ? r.level : r.level + 1)));
  for (let level = max; level >= minOdd; level--) {
    for (let i = 0; i < runs.length; ) {
      if ((runs[i]?.level ?? 0) < level) {
        i++;
        continue;
      }
      let j = i;
      while (j < runs.length && (runs[j]?.level ?? 0) >= level) j++;
      runs.splice(i, j - i, ...runs.slice(i, j).reverse());
      i = j;
    }
  }
  const out: VisualRun[] = [];
  for (const r of runs) {
    const rtl = r.level % 2 === 1;
    let text = '';
    for (let i = r.start; i < r.end; i++) text += (rtl ? mirrored.get(i) : undefined) ?? line[i];
    text = text.replace(CONTROLS, '');
    if (text === '') continue;
    // fontkit lays a run of Arabic script right to left itself (brackets mirrored above); a right-to-left
    // run of neutrals only is reversed here.
    if (rtl && !ARABIC.test(text)) text = [...text].reverse().join('');
    out.push({ text, rtl });
  }
  return out;
}

/**
 * pdfkit lays text out word by word (and caches each word) unless OpenType features are named; a
 * right-to-left run must be laid out whole so that fontkit orders its words, so `features: []` there.
 */
function layoutOf(run: VisualRun): { features?: [] } {
  return run.rtl && ARABIC.test(run.text) ? { features: [] } : {};
}

export interface TextOptions {
  readonly font?: FontName;
  readonly size?: number;
  /** Where the line sits in [x, x + width]. */
  readonly align?: 'left' | 'right' | 'center';
  readonly color?: string;
}

/** A pdfkit document with the embedded fonts and bidi-aware single-line text. */
export class BidiPdf {
  readonly doc: PDFKit.PDFDocument;

  constructor(
    options: PDFKit.PDFDocumentOptions,
    readonly base: Direction,
  ) {
    this.doc = new PDFDocument({ ...options, autoFirstPage: true, bufferPages: false });
    for (const [name, font] of Object.entries(fonts())) {
      this.doc.registerFont(name, font as unknown as PDFKit.Mixins.PDFFontSource);
    }
    this.doc.font('regular');
  }

  /** The drawn width of a line. */
  width(line: string, opts: TextOptions = {}): number {
    this.doc.font(opts.font ?? 'regular').fontSize(opts.size ?? 10);
    return visualRuns(line, this.base).reduce(
      (sum, r) => sum + this.doc.widthOfString(r.text, layoutOf(r)),
      0,
    );
  }

  /** Draws one line at y within [x, x + width]; returns the line's height. */
  line(text: string, x: number, y: number, width: number, opts: TextOptions = {}): number {
    const size = opts.size ?? 10;
    this.doc
      .font(opts.font ?? 'regular')
      .fontSize(size)
      .fillColor(opts.color ?? '#000');
    const runs = visualRuns(text, this.base);
    const widths = runs.map((r) => this.doc.widthOfString(r.text, layoutOf(r)));
    const total = widths.reduce((a, b) => a + b, 0);
    const align = opts.align ?? (this.base === 'rtl' ? 'right' : 'left');
    let at = align === 'left' ? x : align === 'right' ? x + width - total : x + (width - total) / 2;
    runs.forEach((r, i) => {
      this.doc.text(r.text, at, y, { lineBreak: false, ...layoutOf(r) });
      at += widths[i] ?? 0;
    });
    return this.doc.currentLineHeight(true);
  }

  async toBuffer(): Promise<Buffer> {
    const chunks: Buffer[] = [];
    this.doc.on('data', (c: Buffer) => chunks.push(c));
    const done = new Promise<void>((resolve, reject) => {
      this.doc.on('end', () => resolve());
      this.doc.on('error', reject);
    });
    this.doc.end();
    await done;
    return Buffer.concat(chunks);
  }
}
