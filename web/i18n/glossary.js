/**
 * Rasid's glossary: the words a Gulf utility's customer service uses for its trade, in Arabic and English.
 * The web app's dictionaries (ar.js, en.js) and the server's SMS and e-mail templates
 * (src/notify/templates.ts) take these terms from here, so a screen and a message never name the same thing
 * two ways. Plain data, no imports: the browser and Node.js load the same file.
 */

/** Terms of the trade. `ar` is the form used in running text. */
export const TERMS = Object.freeze({
  credit: Object.freeze({ ar: 'الرصيد', en: 'credit' }),
  topUp: Object.freeze({ ar: 'شحن الرصيد', en: 'top-up' }),
  topUpVerb: Object.freeze({ ar: 'اشحن رصيدك', en: 'top up' }),
  token: Object.freeze({ ar: 'رمز الشحن', en: 'token' }),
  meter: Object.freeze({ ar: 'العداد', en: 'meter' }),
  meters: Object.freeze({ ar: 'العدادات', en: 'meters' }),
  tariff: Object.freeze({ ar: 'التعرفة', en: 'tariff' }),
  supplyDisconnected: Object.freeze({ ar: 'فُصلت الخدمة', en: 'supply disconnected' }),
  supplyReconnected: Object.freeze({ ar: 'أُعيد توصيل الخدمة', en: 'supply reconnected' }),
  supplyOn: Object.freeze({ ar: 'الخدمة موصولة', en: 'supply on' }),
  supplyOff: Object.freeze({ ar: 'الخدمة مفصولة', en: 'supply off' }),
  slaDue: Object.freeze({ ar: 'موعد الإنجاز المستهدف', en: 'resolution due' }),
  tamper: Object.freeze({ ar: 'تلاعب بالعداد', en: 'tamper' }),
  clearTamper: Object.freeze({ ar: 'إلغاء إنذار التلاعب', en: 'clear tamper' }),
});

/**
 * Currencies: `symbol` as the region's utilities print it beside an amount (the ISO code in English),
 * `name` as a message writes it out in words.
 */
export const CURRENCIES = Object.freeze({
  OMR: Object.freeze({
    ar: { symbol: 'ر.ع.', name: 'ريال عُماني' },
    en: { symbol: 'OMR', name: 'Omani rials' },
  }),
  BHD: Object.freeze({
    ar: { symbol: 'د.ب.', name: 'دينار بحريني' },
    en: { symbol: 'BHD', name: 'Bahraini dinars' },
  }),
  KWD: Object.freeze({
    ar: { symbol: 'د.ك.', name: 'دينار كويتي' },
    en: { symbol: 'KWD', name: 'Kuwaiti dinars' },
  }),
  SAR: Object.freeze({
    ar: { symbol: 'ر.س.', name: 'ريال سعودي' },
    en: { symbol: 'SAR', name: 'Saudi riyals' },
  }),
  AED: Object.freeze({
    ar: { symbol: 'د.إ.', name: 'درهم إماراتي' },
    en: { symbol: 'AED', name: 'UAE dirhams' },
  }),
  QAR: Object.freeze({
    ar: { symbol: 'ر.ق.', name: 'ريال قطري' },
    en: { symbol: 'QAR', name: 'Qatari riyals' },
  }),
  JOD: Object.freeze({
    ar: { symbol: 'د.أ.', name: 'دينار أردني' },
    en: { symbol: 'JOD', name: 'Jordanian dinars' },
  }),
  LBP: Object.freeze({
    ar: { symbol: 'ل.ل.', name: 'ليرة لبنانية' },
    en: { symbol: 'LBP', name: 'Lebanese pounds' },
  }),
  EGP: Object.freeze({
    ar: { symbol: 'ج.م.', name: 'جنيه مصري' },
    en: { symbol: 'EGP', name: 'Egyptian pounds' },
  }),
  IQD: Object.freeze({
    ar: { symbol: 'د.ع.', name: 'دينار عراقي' },
    en: { symbol: 'IQD', name: 'Iraqi dinars' },
  }),
  LYD: Object.freeze({
    ar: { symbol: 'د.ل.', name: 'دينار ليبي' },
    en: { symbol: 'LYD', name: 'Libyan dinars' },
  }),
  TND: Object.freeze({
    ar: { symbol: 'د.ت.', name: 'دينار تونسي' },
    en: { symbol: 'TND', name: 'Tunisian dinars' },
  }),
  USD: Object.freeze({
    ar: { symbol: 'دولار', name: 'دولار أمريكي' },
    en: { symbol: 'USD', name: 'US dollars' },
  }),
});

/** Units: `symbol` beside a figure on a screen or a receipt, `name` written out in a message. */
export const UNITS = Object.freeze({
  kWh: Object.freeze({ ar: { symbol: 'ك.و.س', name: 'كيلوواط ساعة' }, en: { symbol: 'kWh', name: 'kWh' } }),
  'm³': Object.freeze({ ar: { symbol: 'م³', name: 'متر مكعب' }, en: { symbol: 'm³', name: 'm³' } }),
});

/** Dictionary entries for a language: `currency.<ISO>` (symbols) and `unit.<unit>` (symbols). */
export function glossaryEntries(lang) {
  const entries = {};
  for (const [code, c] of Object.entries(CURRENCIES)) entries[`currency.${code}`] = c[lang].symbol;
  for (const [unit, u] of Object.entries(UNITS)) entries[`unit.${unit}`] = u[lang].symbol;
  for (const [term, w] of Object.entries(TERMS)) entries[`term.${term}`] = w[lang];
  return entries;
}
