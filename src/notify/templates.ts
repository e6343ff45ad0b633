/**
 * The messages Rasid sends to customers, in Arabic and English, chosen by the customer's preferred
 * language. Each template has a zod schema for its payload (the type is inferred from it) and renders to a
 * short text (SMS), a subject and the same text for e-mail, and a JSON body for webhooks.
 *
 * Numbers and tokens read left to right in both languages: in Arabic text they are wrapped in Unicode
 * left-to-right isolates (U+2066 … U+2069) so a token or an amount is never reordered by the surrounding
 * right-to-left text. Tokens are grouped 4-4-4-4-4 in both languages. Arabic-Indic digits are a display
 * option (`digits: 'arabic'`).
 */
import { z } from 'zod';
import { CURRENCIES, TERMS, UNITS } from '../../web/i18n/glossary.js';
import type { Language } from '../store/schema.ts';

/** A decimal amount already formatted with the currency's exponent, e.g. "1.250" or "-0.300". */
const Amount = z.string().regex(/^-?\d+(\.\d+)?$/, 'a decimal amount');
const Currency = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code');
const Unit = z.enum(['kWh', 'm³']);
const Token = z.string().regex(/^\d{20}$/, 'a token is 20 digits');
/** A default category's code, or a utility's own (its names travel with the payload). */
const CaseCategory = z.string().regex(/^[a-z][a-z0-9_]{1,39}$/);
const DEFAULT_CATEGORIES = ['complaint', 'request', 'meter_fault', 'billing_dispute'] as const;
type DefaultCategory = (typeof DEFAULT_CATEGORIES)[number];
const CaseStatus = z.enum(['open', 'in_progress', 'waiting_customer', 'resolved', 'closed']);

export const TEMPLATE_SCHEMAS = Object.freeze({
  low_credit: z.object({
    customerName: z.string().min(1),
    accountNumber: z.string().min(1),
    credit: Amount,
    currency: Currency,
    /** Whole days of credit left at recent use; null when unknown. */
    daysLeft: z.number().int().nonnegative().nullable(),
  }),
  disconnect: z.object({
    customerName: z.string().min(1),
    accountNumber: z.string().min(1),
    meterSerial: z.string().min(1),
    credit: Amount,
    currency: Currency,
  }),
  reconnect: z.object({
    customerName: z.string().min(1),
    accountNumber: z.string().min(1),
    meterSerial: z.string().min(1),
    credit: Amount,
    currency: Currency,
  }),
  token_delivery: z.object({
    meterSerial: z.string().min(1),
    token: Token,
    /** Units on the token, e.g. "25.0". */
    units: Amount,
    unit: Unit,
    /** Where the receipt PDF of the top-up can be fetched (the payment's own link). */
    receiptUrl: z.url().max(300).optional(),
  }),
  account_transfer: z.object({
    customerName: z.string().min(1),
    accountNumber: z.string().min(1),
    reason: z.enum(['death', 'inheritance', 'sale', 'tenancy', 'correction', 'other']),
    subsidyCarried: z.boolean(),
    /** When the transfer took effect (ISO 8601). */
    at: z.string().min(1),
  }),
  deceased_outreach: z.object({
    /** The family member the message is for. */
    contactName: z.string().min(1),
    /** The late holder. */
    holderName: z.string().min(1),
    accountNumber: z.string().min(1),
    /** The last day the subsidy is held without a transfer (YYYY-MM-DD). */
    graceEndsOn: z.iso.date(),
    caseNumber: z.string().min(1),
  }),
  subsidy_ended: z.object({
    contactName: z.string().min(1),
    holderName: z.string().min(1),
    accountNumber: z.string().min(1),
    /** When the subsidy ended (ISO 8601). */
    at: z.string().min(1),
    caseNumber: z.string().min(1),
  }),
  vend_receipt: z.object({
    receiptNumber: z.string().min(1),
    meterSerial: z.string().min(1),
    amountPaid: Amount,
    currency: Currency,
    units: Amount,
    unit: Unit,
    token: Token.nullable(),
    /** The sale: the e-mail carries its receipt as a PDF attachment (src/receipts/email.ts). */
    vendId: z.uuid().optional(),
    receiptUrl: z.url().max(300).optional(),
  }),
  case_opened: z.object({
    customerName: z.string().min(1),
    /** The case's reference, e.g. "C-1024". */
    caseNumber: z.string().min(1),
    category: CaseCategory,
    /** The utility's names of its own category (a default category has Rasid's wording). */
    categoryName: z.object({ en: z.string().min(1), ar: z.string().min(1) }).optional(),
    /** When a resolution is due (ISO 8601). */
    dueAt: z.string().min(1),
  }),
  case_survey: z.object({
    customerName: z.string().min(1),
    caseNumber: z.string().min(1),
    /** Where the customer answers; a reply with a number 1 to 5 is read too. */
    surveyUrl: z.url().max(300),
  }),
  case_updated: z.object({
    customerName: z.string().min(1),
    caseNumber: z.string().min(1),
    status: CaseStatus,
    /** A message from customer service to the customer, if any. */
    note: z.string().min(1).max(500).nullable(),
  }),
  sign_in_code: z.object({
    /** The one-time code the customer types to sign in. */
    code: z.string().regex(/^\d{6}$/, 'a code is 6 digits'),
    /** Minutes until the code expires. */
    minutes: z.number().int().positive(),
  }),
});

export type TemplateName = keyof typeof TEMPLATE_SCHEMAS;

/** Payload fields that are secrets: kept in the outbox row only until the message is delivered or failed. */
export const SECRET_FIELDS: { readonly [T in TemplateName]?: readonly string[] } = Object.freeze({
  sign_in_code: ['code'],
});

/** The payload without its template's secret fields, or null when it has none. */
export function withoutSecrets(
  template: string,
  payload: Record<string, unknown>,
): Record<string, unknown> | null {
  const fields = SECRET_FIELDS[template as TemplateName];
  if (!fields?.some((f) => f in payload)) return null;
  return Object.fromEntries(Object.entries(payload).filter(([k]) => !fields.includes(k)));
}
export const TEMPLATE_NAMES = Object.freeze(Object.keys(TEMPLATE_SCHEMAS) as TemplateName[]);
export type TemplatePayload<T extends TemplateName> = z.infer<(typeof TEMPLATE_SCHEMAS)[T]>;

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
  constructor(
    readonly code: 'unknown_template' | 'invalid_payload',
    message: string,
  ) {
    super(message);
  }
}

export function isTemplateName(name: string): name is TemplateName {
  return Object.hasOwn(TEMPLATE_SCHEMAS, name);
}

/** Validates a payload for a template; throws {@link TemplateError} naming the field. */
export function parsePayload<T extends TemplateName>(template: T, payload: unknown): TemplatePayload<T> {
  const result = TEMPLATE_SCHEMAS[template].safeParse(payload);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new TemplateError(
      'invalid_payload',
      `${template}: ${issue?.path.join('.') || '(payload)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return result.data as TemplatePayload<T>;
}

/** "23716100501183194197" → "2371-6100-5011-8319-4197", the same in both languages. */
export function groupTokenDigits(token: string): string {
  return token.replace(/(\d{4})(?=\d)/g, '$1-');
}

const ARABIC_INDIC = '٠١٢٣٤٥٦٧٨٩';

/** Western digits to Arabic-Indic digits (and the decimal point to the Arabic decimal separator). */
export function toArabicIndicDigits(text: string): string {
  return text.replace(/[0-9]/g, (d) => ARABIC_INDIC[Number(d)]!).replace(/(?<=[٠-٩])\.(?=[٠-٩])/g, '٫');
}

/** Left-to-right isolate: keeps numbers and tokens in reading order inside Arabic text. */
const LRI = '\u2066';
const PDI = '\u2069';

/** Currencies and units written out as the web app's glossary writes them (web/i18n/glossary.js). */
const currencyAr = (code: string): string => CURRENCIES[code]?.ar.name ?? code;
const unitAr = (unit: z.infer<typeof Unit>): string => UNITS[unit].ar.name;
/** The trade's words in Arabic, shared with the screens. */
const AR = Object.fromEntries(Object.entries(TERMS).map(([k, v]) => [k, v.ar])) as Record<
  keyof typeof TERMS,
  string
>;

const CASE_CATEGORY_EN: Readonly<Record<DefaultCategory, string>> = Object.freeze({
  complaint: 'complaint',
  request: 'request',
  meter_fault: 'meter fault report',
  billing_dispute: 'billing dispute',
});

function categoryName(
  p: { category: string; categoryName?: { en: string; ar: string } | undefined },
  language: 'en' | 'ar',
): string {
  if (p.categoryName) return p.categoryName[language];
  const defaults = language === 'en' ? CASE_CATEGORY_EN : CASE_CATEGORY_AR;
  return (DEFAULT_CATEGORIES as readonly string[]).includes(p.category)
    ? defaults[p.category as DefaultCategory]
    : p.category;
}

const CASE_CATEGORY_AR: Readonly<Record<DefaultCategory, string>> = Object.freeze({
  complaint: 'شكوى',
  request: 'طلب',
  meter_fault: 'بلاغ عطل في العداد',
  billing_dispute: 'اعتراض على فاتورة',
});

const CASE_STATUS_EN: Readonly<Record<z.infer<typeof CaseStatus>, string>> = Object.freeze({
  open: 'open',
  in_progress: 'in progress',
  waiting_customer: 'waiting for your reply',
  resolved: 'resolved',
  closed: 'closed',
});

const CASE_STATUS_AR: Readonly<Record<z.infer<typeof CaseStatus>, string>> = Object.freeze({
  // A customer's case is "طلبك" on the screens and in messages: the forms agree with it.
  open: 'مفتوح',
  in_progress: 'قيد المعالجة',
  waiting_customer: 'بانتظار ردّك',
  resolved: 'تمّ حلّه',
  closed: 'مغلق',
});

export interface RenderOptions {
  /** Digits in the customer's text (tokens included): 'latin' (default) or 'arabic' (Arabic-Indic). */
  readonly digits?: 'latin' | 'arabic';
  /** The utility's IANA zone: every date and time in a message is the one people there read (default UTC). */
  readonly timeZone?: string;
}

export interface RenderedMessage {
  /** E-mail subject. */
  readonly subject: string;
  /** The message: the SMS text and the e-mail body. */
  readonly text: string;
}

type Fmt = (value: string) => string;

/** Dates and times of a message, in the utility's zone and the message's language. */
interface When {
  /** "2 March 2026 at 11:00" / "2 مارس 2026 في 11:00 ص" */
  dateTime(iso: string): string;
  /** "2 March 2026" / "2 مارس 2026" */
  date(iso: string): string;
}

/** The formats of each language, zone and digits, made once: an Intl formatter is costly to make. */
const whens = new Map<string, When>();

function whenIn(language: Language, timeZone: string, digits: 'latin' | 'arabic'): When {
  const key = `${language}|${timeZone}|${digits}`;
  let when = whens.get(key);
  if (when === undefined) {
    when = makeWhen(language, timeZone, digits);
    whens.set(key, when);
  }
  return when;
}

function makeWhen(language: Language, timeZone: string, digits: 'latin' | 'arabic'): When {
  const locale = language === 'ar' ? `ar-u-nu-${digits === 'arabic' ? 'arab' : 'latn'}` : 'en-GB';
  const day = { day: 'numeric', month: 'long', year: 'numeric', timeZone } as const;
  const withTime = new Intl.DateTimeFormat(locale, {
    ...day,
    hour: language === 'ar' ? 'numeric' : '2-digit',
    minute: '2-digit',
  });
  const dateOnly = new Intl.DateTimeFormat(locale, day);
  return {
    dateTime: (iso) => withTime.format(new Date(iso)),
    date: (iso) => dateOnly.format(new Date(iso)),
  };
}

/**
 * `n` formats a number for running text (isolated left to right in Arabic); `d` only chooses its digits; `w`
 * writes dates and times.
 */
type Renderer<T extends TemplateName> = (p: TemplatePayload<T>, n: Fmt, d: Fmt, w: When) => RenderedMessage;

const ENGLISH: { readonly [T in TemplateName]: Renderer<T> } = {
  low_credit: (p, n) => ({
    subject: `Low credit on account ${p.accountNumber}`,
    text:
      `Dear ${p.customerName}, the credit on account ${p.accountNumber} is low: ${p.currency} ${n(p.credit)}` +
      (p.daysLeft === null
        ? '.'
        : `, about ${n(String(p.daysLeft))} ${p.daysLeft === 1 ? 'day' : 'days'} at your recent use.`) +
      ' Please top up soon to keep your supply on.',
  }),
  disconnect: (p) => ({
    subject: `Supply disconnected: account ${p.accountNumber}`,
    text:
      `Dear ${p.customerName}, the credit on account ${p.accountNumber} has run out and the supply to meter ` +
      `${p.meterSerial} has been disconnected. It will be reconnected automatically when you top up.`,
  }),
  reconnect: (p, n) => ({
    subject: `Supply reconnected: account ${p.accountNumber}`,
    text:
      `Dear ${p.customerName}, the supply to meter ${p.meterSerial} has been reconnected. ` +
      `Your credit is ${p.currency} ${n(p.credit)}. Thank you.`,
  }),
  token_delivery: (p, n) => ({
    subject: `Your token for meter ${p.meterSerial}`,
    text:
      `Token for meter ${p.meterSerial}: ${n(groupTokenDigits(p.token))} (${n(p.units)} ${p.unit}). ` +
      'If your meter has not applied it on its own, key it in.' +
      (p.receiptUrl ? ` Receipt: ${p.receiptUrl}` : ''),
  }),
  account_transfer: (p, n, _d, w) => ({
    subject: `Account ${p.accountNumber} is now in your name`,
    text:
      `Dear ${p.customerName}, account ${n(p.accountNumber)} has been transferred to your name on ${w.date(p.at)}. ` +
      (p.subsidyCarried
        ? 'The subsidised tariff of the account carries over to you.'
        : 'The account is on the standard tariff.') +
      ' Contact us if anything is wrong.',
  }),
  deceased_outreach: (p, n) => ({
    subject: `Account ${p.accountNumber}: transfer to an heir`,
    text:
      `Dear ${p.contactName}, please accept our condolences on the passing of ${p.holderName}. ` +
      `The subsidised tariff of account ${n(p.accountNumber)} is kept until ${n(p.graceEndsOn)} so that it can ` +
      `be transferred to an heir. Bring the inheritance document to any of our offices, quoting case ${n(p.caseNumber)}.`,
  }),
  subsidy_ended: (p, n) => ({
    subject: `Account ${p.accountNumber}: subsidy ended`,
    text:
      `Dear ${p.contactName}, account ${n(p.accountNumber)} of the late ${p.holderName} was not transferred to an ` +
      `heir within the period allowed, so its subsidised tariff ended on ${n(p.at.slice(0, 10))}. ` +
      `An heir may still apply for the transfer, quoting case ${n(p.caseNumber)}.`,
  }),
  vend_receipt: (p, n) => ({
    subject: `Receipt ${p.receiptNumber}`,
    text:
      `Receipt ${p.receiptNumber}: you paid ${p.currency} ${n(p.amountPaid)} for meter ${p.meterSerial} ` +
      `and received ${n(p.units)} ${p.unit}.` +
      (p.token === null ? '' : ` Token: ${n(groupTokenDigits(p.token))}.`) +
      (p.receiptUrl ? ` Receipt: ${p.receiptUrl}` : ''),
  }),
  case_opened: (p, _n, _d, w) => ({
    subject: `Case ${p.caseNumber} opened`,
    text:
      `Dear ${p.customerName}, we have opened case ${p.caseNumber} for your ${categoryName(p, 'en')}. ` +
      `We aim to resolve it by ${w.dateTime(p.dueAt)}.`,
  }),
  case_updated: (p) => ({
    subject: `Case ${p.caseNumber}: ${CASE_STATUS_EN[p.status]}`,
    text:
      `Dear ${p.customerName}, case ${p.caseNumber} is ${CASE_STATUS_EN[p.status]}.` +
      (p.note === null ? '' : ` ${p.note}`),
  }),
  case_survey: (p, n) => ({
    subject: `Case ${p.caseNumber}: how did we do?`,
    text:
      `Dear ${p.customerName}, case ${p.caseNumber} is closed. How satisfied are you with how we handled it? ` +
      `Reply with a number from 1 (not satisfied) to 5 (very satisfied), or answer at ${n(p.surveyUrl)}`,
  }),
  sign_in_code: (p, n) => ({
    subject: 'Your Rasid sign-in code',
    text:
      `Your Rasid sign-in code is ${n(p.code)}. It expires in ${n(String(p.minutes))} minutes. ` +
      'Do not share it: we will never ask you for it.',
  }),
};

/** `n` wraps a number or token in a left-to-right isolate for Arabic text. */
const ARABIC: { readonly [T in TemplateName]: Renderer<T> } = {
  low_credit: (p, n) => ({
    subject: `رصيد منخفض في الحساب ${n(p.accountNumber)}`,
    text:
      `عزيزنا ${p.customerName}، رصيدك في الحساب ${n(p.accountNumber)} منخفض: ` +
      `${n(p.credit)} ${currencyAr(p.currency)}.` +
      (p.daysLeft === null ? '' : ` الأيام المتبقية بحسب استهلاكك الأخير: نحو ${n(String(p.daysLeft))}.`) +
      ' نرجو شحن رصيدك قريبًا حتى لا تنقطع الخدمة.',
  }),
  disconnect: (p, n) => ({
    subject: `${AR.supplyDisconnected}: الحساب ${n(p.accountNumber)}`,
    text:
      `عزيزنا ${p.customerName}، نفد رصيد الحساب ${n(p.accountNumber)} ف${AR.supplyDisconnected} عن العداد ` +
      `${n(p.meterSerial)}. ستعود الخدمة تلقائيًا بعد ${AR.topUp}.`,
  }),
  reconnect: (p, n) => ({
    subject: `${AR.supplyReconnected}: الحساب ${n(p.accountNumber)}`,
    text:
      `عزيزنا ${p.customerName}، ${AR.supplyReconnected} للعداد ${n(p.meterSerial)}. ` +
      `رصيدك الحالي ${n(p.credit)} ${currencyAr(p.currency)}. شكرًا لك.`,
  }),
  token_delivery: (p, n) => ({
    subject: `${AR.token} للعداد ${n(p.meterSerial)}`,
    text:
      `${AR.token} للعداد ${n(p.meterSerial)}: ${n(groupTokenDigits(p.token))} ` +
      `(${n(p.units)} ${unitAr(p.unit)}). إن لم يُطبَّق الرمز على العداد تلقائيًا فأدخله يدويًا.` +
      (p.receiptUrl ? ` الإيصال: ${p.receiptUrl}` : ''),
  }),
  account_transfer: (p, n, _d, w) => ({
    subject: `نُقل الحساب ${n(p.accountNumber)} إلى اسمك`,
    text:
      `عزيزنا ${p.customerName}، نُقل الحساب ${n(p.accountNumber)} إلى اسمك بتاريخ ${w.date(p.at)}. ` +
      (p.subsidyCarried ? 'تنتقل إليك التعرفة المدعومة لهذا الحساب.' : 'الحساب على التعرفة العادية.') +
      ' تواصل معنا إن كان هناك أي خطأ.',
  }),
  deceased_outreach: (p, n) => ({
    subject: `الحساب ${n(p.accountNumber)}: نقله إلى أحد الورثة`,
    text:
      `عزيزنا ${p.contactName}، نتقدم إليكم بخالص العزاء في وفاة ${p.holderName}. ` +
      `نُبقي التعرفة المدعومة للحساب ${n(p.accountNumber)} حتى ${n(p.graceEndsOn)} ليتسنى نقله إلى أحد الورثة. ` +
      `يُرجى إحضار وثيقة حصر الإرث إلى أحد مكاتبنا مع ذكر رقم الطلب ${n(p.caseNumber)}.`,
  }),
  subsidy_ended: (p, n) => ({
    subject: `الحساب ${n(p.accountNumber)}: انتهاء الدعم`,
    text:
      `عزيزنا ${p.contactName}، لم يُنقل الحساب ${n(p.accountNumber)} الخاص بالمرحوم ${p.holderName} إلى أحد الورثة ` +
      `خلال المدة المحددة، فانتهت التعرفة المدعومة للحساب بتاريخ ${n(p.at.slice(0, 10))}. ` +
      `ما زال بإمكان الورثة طلب نقل الحساب مع ذكر رقم الطلب ${n(p.caseNumber)}.`,
  }),
  vend_receipt: (p, n) => ({
    subject: `إيصال رقم ${n(p.receiptNumber)}`,
    text:
      `إيصال رقم ${n(p.receiptNumber)}: دفعت ${n(p.amountPaid)} ${currencyAr(p.currency)} ` +
      `للعداد ${n(p.meterSerial)} وحصلت على ${n(p.units)} ${unitAr(p.unit)}.` +
      (p.token === null ? '' : ` رمز الشحن: ${n(groupTokenDigits(p.token))}.`) +
      (p.receiptUrl ? ` الإيصال: ${p.receiptUrl}` : ''),
  }),
  case_opened: (p, n, _d, w) => ({
    subject: `سجّلنا طلبك رقم ${n(p.caseNumber)}`,
    text:
      `عزيزنا ${p.customerName}، سجّلنا طلبك رقم ${n(p.caseNumber)} بشأن ${categoryName(p, 'ar')}. ` +
      `نسعى إلى إنجازه قبل ${w.dateTime(p.dueAt)}.`,
  }),
  case_updated: (p, n) => ({
    subject: `طلبك رقم ${n(p.caseNumber)}: ${CASE_STATUS_AR[p.status]}`,
    text:
      `عزيزنا ${p.customerName}، طلبك رقم ${n(p.caseNumber)} ${CASE_STATUS_AR[p.status]}.` +
      (p.note === null ? '' : ` ${p.note}`),
  }),
  case_survey: (p, n) => ({
    subject: `طلبك رقم ${n(p.caseNumber)}: رأيك يهمنا`,
    text:
      `عزيزنا ${p.customerName}، أُغلق طلبك رقم ${n(p.caseNumber)}. ما مدى رضاك عن معالجتنا له؟ ` +
      `أرسل رقمًا من 1 (غير راضٍ) إلى 5 (راضٍ جدًا)، أو أجب عبر الرابط ${n(p.surveyUrl)}`,
  }),
  // A bare number reads in order in Arabic text without marks around it: the code is sent as it is typed.
  sign_in_code: (p, _n, d) => ({
    subject: 'رمز الدخول إلى رصيد',
    text:
      `رمز الدخول إلى رصيد: ${d(p.code)}. صالح لمدة ${d(String(p.minutes))} ${p.minutes >= 3 && p.minutes <= 10 ? 'دقائق' : 'دقيقة'}. ` +
      'لا تشاركه مع أحد، فلن نطلبه منك أبدًا.',
  }),
};

/**
 * Renders a template in a language. Throws {@link TemplateError} for an unknown template or a payload that
 * does not match its schema.
 */
export function renderTemplate(
  template: string,
  language: Language,
  payload: unknown,
  options: RenderOptions = {},
): RenderedMessage {
  if (!isTemplateName(template)) throw new TemplateError('unknown_template', `no template "${template}"`);
  const parsed = parsePayload(template, payload);
  const digits: Fmt = options.digits === 'arabic' ? toArabicIndicDigits : (s) => s;
  const n: Fmt = language === 'ar' ? (s) => `${LRI}${digits(s)}${PDI}` : digits;
  const when = whenIn(language, options.timeZone ?? 'UTC', options.digits ?? 'latin');
  const renderer = (language === 'ar' ? ARABIC : ENGLISH)[template] as Renderer<TemplateName>;
  return renderer(parsed, n, digits, when);
}
