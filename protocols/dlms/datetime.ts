/**
 * COSEM date, time and date-time (IEC 62056-6-2 §4.1.6.1, Blue Book "Date and time formats").
 * A field left `undefined` is "not specified" on the wire (0xFF, 0xFFFF or 0x8000).
 */
import { Cursor, DlmsDecodeError, DlmsEncodeError } from './cursor.ts';

/** Length of a COSEM date-time on the wire. */
export const DATE_TIME_LENGTH = 12;
/** Length of a COSEM date on the wire. */
export const DATE_LENGTH = 5;
/** Length of a COSEM time on the wire. */
export const TIME_LENGTH = 4;

/** year: 0xFFFF = not specified. */
export const YEAR_NOT_SPECIFIED = 0xffff;
/** Any one-byte field: 0xFF = not specified. */
export const BYTE_NOT_SPECIFIED = 0xff;
/** deviation: 0x8000 = not specified. */
export const DEVIATION_NOT_SPECIFIED = -0x8000;
/** month 0xFD = daylight-savings end, day 0xFD = second-last day of month. */
export const DST_END_OR_SECOND_LAST_DAY = 0xfd;
/** month 0xFE = daylight-savings begin, day 0xFE = last day of month. */
export const DST_BEGIN_OR_LAST_DAY = 0xfe;

/** clock_status bit 0: invalid value. */
export const CLOCK_STATUS_INVALID = 0x01;
/** clock_status bit 1: doubtful value. */
export const CLOCK_STATUS_DOUBTFUL = 0x02;
/** clock_status bit 2: different clock base. */
export const CLOCK_STATUS_DIFFERENT_BASE = 0x04;
/** clock_status bit 3: invalid clock status. */
export const CLOCK_STATUS_INVALID_STATUS = 0x08;
/** clock_status bit 7: daylight saving active. */
export const CLOCK_STATUS_DST_ACTIVE = 0x80;

export interface CosemDate {
  year?: number | undefined;
  /** 1..12, or 0xFD / 0xFE (DST end / begin). */
  month?: number | undefined;
  /** 1..31, or 0xFD / 0xFE (second-last / last day of month). */
  day?: number | undefined;
  /** 1 = Monday .. 7 = Sunday. */
  dayOfWeek?: number | undefined;
}

export interface CosemTime {
  hour?: number | undefined;
  minute?: number | undefined;
  second?: number | undefined;
  hundredths?: number | undefined;
}

export interface CosemDateTime extends CosemDate, CosemTime {
  /** Minutes, as on the wire (see `DeviationSign`). */
  deviation?: number | undefined;
  /** Clock status bits (CLOCK_STATUS_*); undefined = 0xFF not specified. */
  clockStatus?: number | undefined;
}

function u8(v: number | undefined): number {
  return v === undefined ? BYTE_NOT_SPECIFIED : v;
}
function fromU8(v: number): number | undefined {
  return v === BYTE_NOT_SPECIFIED ? undefined : v;
}

export function writeCosemDate(c: Cursor, d: CosemDate): void {
  c.writeUInt16(d.year === undefined ? YEAR_NOT_SPECIFIED : d.year);
  c.writeUInt8(u8(d.month));
  c.writeUInt8(u8(d.day));
  c.writeUInt8(u8(d.dayOfWeek));
}

export function readCosemDate(c: Cursor): CosemDate {
  const year = c.readUInt16();
  return {
    year: year === YEAR_NOT_SPECIFIED ? undefined : year,
    month: fromU8(c.readUInt8()),
    day: fromU8(c.readUInt8()),
    dayOfWeek: fromU8(c.readUInt8()),
  };
}

export function writeCosemTime(c: Cursor, t: CosemTime): void {
  c.writeUInt8(u8(t.hour));
  c.writeUInt8(u8(t.minute));
  c.writeUInt8(u8(t.second));
  c.writeUInt8(u8(t.hundredths));
}

export function readCosemTime(c: Cursor): CosemTime {
  return {
    hour: fromU8(c.readUInt8()),
    minute: fromU8(c.readUInt8()),
    second: fromU8(c.readUInt8()),
    hundredths: fromU8(c.readUInt8()),
  };
}

export function writeCosemDateTime(c: Cursor, dt: CosemDateTime): void {
  writeCosemDate(c, dt);
  writeCosemTime(c, dt);
  c.writeInt16(dt.deviation === undefined ? DEVIATION_NOT_SPECIFIED : dt.deviation);
  c.writeUInt8(u8(dt.clockStatus));
}

export function readCosemDateTime(c: Cursor): CosemDateTime {
  const date = readCosemDate(c);
  const time = readCosemTime(c);
  const deviation = c.readInt16();
  const status = c.readUInt8();
  return {
    ...date,
    ...time,
    deviation: deviation === DEVIATION_NOT_SPECIFIED ? undefined : deviation,
    clockStatus: fromU8(status),
  };
}

/** The 12 wire bytes of a date-time (as carried in Clock attribute 2, inside `09 0C`). */
export function encodeCosemDateTime(dt: CosemDateTime): Buffer {
  const c = Cursor.writer(DATE_TIME_LENGTH);
  writeCosemDateTime(c, dt);
  return c.getWritten();
}

export function decodeCosemDateTime(bytes: Uint8Array): CosemDateTime {
  if (bytes.length !== DATE_TIME_LENGTH) {
    throw new DlmsDecodeError(`date-time must be ${DATE_TIME_LENGTH} bytes, got ${bytes.length}`);
  }
  return readCosemDateTime(Cursor.reader(bytes));
}

/**
 * Sign convention of the deviation field. 'standard' (Blue Book): minutes from local time to UTC, so
 * UTC+02:00 is −120. 'inverted': many devices send +120 for UTC+02:00.
 */
export type DeviationSign = 'standard' | 'inverted';

export interface DateConversionOptions {
  /** Offset of local time from UTC in minutes (UTC+02:00 = 120). Default 0. */
  utcOffsetMinutes?: number;
  deviationSign?: DeviationSign;
  /** Set the DST-active bit in clock_status. */
  dst?: boolean;
}

/** A JS Date as a fully specified COSEM date-time in the given local offset. */
export function dateToCosem(date: Date, opts: DateConversionOptions = {}): CosemDateTime {
  const offset = opts.utcOffsetMinutes ?? 0;
  const local = new Date(date.getTime() + offset * 60_000);
  const dow = local.getUTCDay();
  // IEC 62056-6-2: deviation = local → UTC in minutes (UTC+02:00 → −120) unless the device inverts it.
  const deviation = opts.deviationSign === 'inverted' ? offset : -offset;
  return {
    year: local.getUTCFullYear(),
    month: local.getUTCMonth() + 1,
    day: local.getUTCDate(),
    dayOfWeek: dow === 0 ? 7 : dow,
    hour: local.getUTCHours(),
    minute: local.getUTCMinutes(),
    second: local.getUTCSeconds(),
    hundredths: Math.floor(local.getUTCMilliseconds() / 10),
    deviation: deviation === 0 ? 0 : deviation,
    clockStatus: opts.dst ? CLOCK_STATUS_DST_ACTIVE : 0,
  };
}

/**
 * A COSEM date-time as a JS Date. Needs year, month, day, hour and minute to be specified (and a normal
 * month/day, not a DST or last-day marker). A missing deviation is read as UTC unless
 * `utcOffsetMinutes` gives the device's local offset.
 */
export function cosemToDate(dt: CosemDateTime, opts: DateConversionOptions = {}): Date {
  const { year, month, day, hour, minute } = dt;
  if (
    year === undefined ||
    month === undefined ||
    day === undefined ||
    hour === undefined ||
    minute === undefined
  ) {
    throw new DlmsDecodeError('date-time is not fully specified');
  }
  if (month > 12 || day > 31)
    throw new DlmsDecodeError(`date-time has a wildcard month/day (${month}/${day})`);
  let offset: number;
  if (dt.deviation === undefined) offset = opts.utcOffsetMinutes ?? 0;
  else offset = opts.deviationSign === 'inverted' ? dt.deviation : -dt.deviation;
  const localMs = Date.UTC(year, month - 1, day, hour, minute, dt.second ?? 0, (dt.hundredths ?? 0) * 10);
  return new Date(localMs - offset * 60_000);
}

export function checkCosemDateTime(dt: CosemDateTime): void {
  const range = (v: number | undefined, lo: number, hi: number, name: string, extra: number[] = []) => {
    if (v !== undefined && !(v >= lo && v <= hi) && !extra.includes(v)) {
      throw new DlmsEncodeError(`date-time ${name} ${v} outside ${lo}..${hi}`);
    }
  };
  range(dt.month, 1, 12, 'month', [DST_END_OR_SECOND_LAST_DAY, DST_BEGIN_OR_LAST_DAY]);
  range(dt.day, 1, 31, 'day', [DST_END_OR_SECOND_LAST_DAY, DST_BEGIN_OR_LAST_DAY]);
  range(dt.dayOfWeek, 1, 7, 'day of week');
  range(dt.hour, 0, 23, 'hour');
  range(dt.minute, 0, 59, 'minute');
  range(dt.second, 0, 59, 'second');
  range(dt.hundredths, 0, 99, 'hundredths');
}
