// Types for the parts of des.js 1.1 (MIT, github.com/indutny/des.js) that Rasid's DES wrapper uses.
declare module 'des.js' {
  interface DesState {
    keys: number[] | null;
    tmp: number[];
  }
  interface DesCipher {
    readonly _desState: DesState;
    deriveKeys(state: DesState, key: ArrayLike<number>): void;
    _encrypt(state: DesState, l: number, r: number, out: number[], off: number): void;
    _decrypt(state: DesState, l: number, r: number, out: number[], off: number): void;
    update(data: ArrayLike<number>): number[];
    final(data?: ArrayLike<number>): number[];
  }
  interface DesUtils {
    ip(l: number, r: number, out: number[], off: number): void;
  }
  const desjs: {
    readonly DES: {
      create(options: { type: 'encrypt' | 'decrypt'; key: ArrayLike<number>; padding?: boolean }): DesCipher;
    };
    readonly utils: DesUtils;
  };
  export default desjs;
}
