/** Types of glossary.js for the server's TypeScript (the browser loads the plain JavaScript). */
type Lang = 'ar' | 'en';
type Words = Readonly<Record<Lang, string>>;
type Forms = Readonly<Record<Lang, { readonly symbol: string; readonly name: string }>>;

export declare const TERMS: Readonly<
  Record<
    | 'credit'
    | 'topUp'
    | 'topUpVerb'
    | 'token'
    | 'meter'
    | 'meters'
    | 'tariff'
    | 'supplyDisconnected'
    | 'supplyReconnected'
    | 'supplyOn'
    | 'supplyOff'
    | 'slaDue'
    | 'tamper'
    | 'clearTamper',
    Words
  >
>;
export declare const CURRENCIES: Readonly<Record<string, Forms>>;
export declare const UNITS: Readonly<Record<'kWh' | 'm³', Forms>>;
export declare function glossaryEntries(lang: Lang): Record<string, string>;
