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
import type { Language } from '../store/schema.ts';

/** A decimal amount already formatted with the currency's exponent, e.g. "1.250" or "-0.300". */
const Amount = z.string().regex(/^-?\d+(\.\d+)?$/, 'a decimal amount');
const Currency = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code');
const Unit = z.enum(['kWh', 'm³']);
const Token = z.string().regex(/^\d{20}$/, 'a token is 20 digits');
const CaseCategory = z.enum(['complaint', 'request', 'meter_fault', 'billing_dispute']);
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
  }),
  account_transfer: z.object({
    customerName: z.string().min(1),
    accountNumber: z.string().min(1),
    reason: z.enum(['death', 'inheritance', 'sale', 'tenancy', 'correction', 'other']),
    subsidyCarried: z.boolean(),
    /** When the transfer took effect (ISO 8601). */
    at: z.string().min(1),
  }),
  vend_receipt: z.object({
    receiptNumber: z.string().min(1),
    meterSerial: z.string().min(1),
    amountPaid: Amount,
    currency: Currency,
    units: Amount,
    unit: Unit,
    token: Token.nullable(),
  }),
  case_opened: z.object({
    customerName: z.string().min(1),
    /** The case's reference, e.g. "C-1024". */
    caseNumber: z.string().min(1),
    category: CaseCategory,
    /** When a resolution is due (ISO 8601). */
    dueAt: z.string().min(1),
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

const CURRENCY_AR: Readonly<Record<string, string>> = Object.freeze({
  JOD: 'دينار أردني',
  OMR: 'ريال عُماني',
  BHD: 'دينار بحريني',
  KWD: 'دينار كويتي',
  SAR: 'ريال سعودي',
  AED: 'درهم إماراتي',
  QAR: 'ريال قطري',
  IQD: 'دينار عراقي',
  EGP: 'جنيه مصري',
  LYD: 'دينار ليبي',
  TND: 'دينار تونسي',
  USD: 'دولار أمريكي',
});

const UNIT_AR: Readonly<Record<z.infer<typeof Unit>, string>> = Object.freeze({
  kWh: 'كيلوواط ساعة',
  'm³': 'متر مكعب',
});

const CASE_CATEGORY_EN: Readonly<Record<z.infer<typeof CaseCategory>, string>> = Object.freeze({
  complaint: 'complaint',
  request: 'request',
  meter_fault: 'meter fault report',
  billing_dispute: 'billing dispute',
});

const CASE_CATEGORY_AR: Readonly<Record<z.infer<typeof CaseCategory>, string>> = Object.freeze({
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
  open: 'مفتوحة',
  in_progress: 'قيد المعالجة',
  waiting_customer: 'بانتظار ردّك',
  resolved: 'تمّ حلّها',
  closed: 'مغلقة',
});

export interface RenderOptions {
  /** Digits in the customer's text (tokens included): 'latin' (default) or 'arabic' (Arabic-Indic). */
  readonly digits?: 'latin' | 'arabic';
}

export interface RenderedMessage {
  /** E-mail subject. */
  readonly subject: string;
  /** The message: the SMS text and the e-mail body. */
  readonly text: string;
}

type Fmt = (value: string) => string;

type Renderer<T extends TemplateName> = (p: TemplatePayload<T>, n: Fmt) => RenderedMessage;

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
      'If your meter has not applied it on its own, key it in.',
  }),
  account_transfer: (p, n) => ({
    subject: `Account ${p.accountNumber} is now in your name`,
    text:
      `Dear ${p.customerName}, account ${n(p.accountNumber)} has been transferred to your name on ${n(p.at.slice(0, 10))}. ` +
      (p.subsidyCarried
        ? 'The subsidised tariff of the account carries over to you.'
        : 'The account is on the standard tariff.') +
      ' Contact us if anything is wrong.',
  }),
  vend_receipt: (p, n) => ({
    subject: `Receipt ${p.receiptNumber}`,
    text:
      `Receipt ${p.receiptNumber}: you paid ${p.currency} ${n(p.amountPaid)} for meter ${p.meterSerial} ` +
      `and received ${n(p.units)} ${p.unit}.` +
      (p.token === null ? '' : ` Token: ${n(groupTokenDigits(p.token))}.`),
  }),
  case_opened: (p, n) => ({
    subject: `Case ${p.caseNumber} opened`,
    text:
      `Dear ${p.customerName}, we have opened case ${p.caseNumber} for your ${CASE_CATEGORY_EN[p.category]}. ` +
      `We aim to resolve it by ${n(p.dueAt.slice(0, 16).replace('T', ' '))} UTC.`,
  }),
  case_updated: (p) => ({
    subject: `Case ${p.caseNumber}: ${CASE_STATUS_EN[p.status]}`,
    text:
      `Dear ${p.customerName}, case ${p.caseNumber} is ${CASE_STATUS_EN[p.status]}.` +
      (p.note === null ? '' : ` ${p.note}`),
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
      `${n(p.credit)} ${CURRENCY_AR[p.currency] ?? p.currency}.` +
      (p.daysLeft === null ? '' : ` الأيام المتبقية بحسب استهلاكك الأخير: نحو ${n(String(p.daysLeft))}.`) +
      ' نرجو شحن رصيدك قريبًا حتى لا تنقطع الخدمة.',
  }),
  disconnect: (p, n) => ({
    subject: `فصل الخدمة عن الحساب ${n(p.accountNumber)}`,
    text:
      `عزيزنا ${p.customerName}، نفد رصيد الحساب ${n(p.accountNumber)} ففُصلت الخدمة عن العداد ` +
      `${n(p.meterSerial)}. ستعود الخدمة تلقائيًا بعد شحن الرصيد.`,
  }),
  reconnect: (p, n) => ({
    subject: `إعادة وصل الخدمة للحساب ${n(p.accountNumber)}`,
    text:
      `عزيزنا ${p.customerName}، أُعيد وصل الخدمة للعداد ${n(p.meterSerial)}. ` +
      `رصيدك الحالي ${n(p.credit)} ${CURRENCY_AR[p.currency] ?? p.currency}. شكرًا لك.`,
  }),
  token_delivery: (p, n) => ({
    subject: `رمز الشحن للعداد ${n(p.meterSerial)}`,
    text:
      `رمز الشحن للعداد ${n(p.meterSerial)}: ${n(groupTokenDigits(p.token))} ` +
      `(${n(p.units)} ${UNIT_AR[p.unit]}). إن لم يُطبَّق الرمز على العداد تلقائيًا فأدخله يدويًا.`,
  }),
  account_transfer: (p, n) => ({
    subject: `نُقل الحساب ${n(p.accountNumber)} إلى اسمك`,
    text:
      `عزيزنا ${p.customerName}، نُقل الحساب ${n(p.accountNumber)} إلى اسمك بتاريخ ${n(p.at.slice(0, 10))}. ` +
      (p.subsidyCarried ? 'تنتقل إليك التعرفة المدعومة لهذا الحساب.' : 'الحساب على التعرفة العادية.') +
      ' تواصل معنا إن كان هناك أي خطأ.',
  }),
  vend_receipt: (p, n) => ({
    subject: `إيصال رقم ${n(p.receiptNumber)}`,
    text:
      `إيصال رقم ${n(p.receiptNumber)}: دفعت ${n(p.amountPaid)} ${CURRENCY_AR[p.currency] ?? p.currency} ` +
      `للعداد ${n(p.meterSerial)} وحصلت على ${n(p.units)} ${UNIT_AR[p.unit]}.` +
      (p.token === null ? '' : ` رمز الشحن: ${n(groupTokenDigits(p.token))}.`),
  }),
  case_opened: (p, n) => ({
    subject: `فُتحت الحالة ${n(p.caseNumber)}`,
    text:
      `عزيزنا ${p.customerName}، فتحنا الحالة ${n(p.caseNumber)} بشأن ${CASE_CATEGORY_AR[p.category]}. ` +
      `نسعى إلى حلّها قبل ${n(p.dueAt.slice(0, 16).replace('T', ' '))} بالتوقيت العالمي.`,
  }),
  case_updated: (p, n) => ({
    subject: `الحالة ${n(p.caseNumber)}: ${CASE_STATUS_AR[p.status]}`,
    text:
      `عزيزنا ${p.customerName}، الحالة ${n(p.caseNumber)} ${CASE_STATUS_AR[p.status]}.` +
      (p.note === null ? '' : ` ${p.note}`),
  }),
  sign_in_code: (p, n) => ({
    subject: 'رمز الدخول إلى رصيد',
    text:
      `رمز الدخول إلى رصيد: ${n(p.code)}. ينتهي بعد ${n(String(p.minutes))} دقيقة. ` +
      'لا تعطه لأحد: لن نطلبه منك أبدًا.',
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
  const renderer = (language === 'ar' ? ARABIC : ENGLISH)[template] as Renderer<TemplateName>;
  return renderer(parsed, n);
}
