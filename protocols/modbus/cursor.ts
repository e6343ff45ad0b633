/**
 * One register cursor for the Modbus map. It owns the position and the order of 16-bit words: Rasid's map
 * is big-endian throughout, the most significant word first and, inside each word, the most significant
 * byte first (Modbus Application Protocol V1.1b3 §4.2 for the bytes; the word order is Rasid's choice).
 *
 * A cursor is either a reader over existing words or a writer that appends.
 */

/** Raised on a value or a word array the map cannot represent; names the register when it is known. */
export class ModbusMapError extends Error {
  override readonly name = 'ModbusMapError';
  constructor(
    message: string,
    /** The register name from the map, when the error concerns one register. */
    readonly register?: string,
  ) {
    super(register === undefined ? message : `${register}: ${message}`);
  }
}

/** Largest value of one 16-bit register. */
export const WORD_MAX = 0xffff;

export class RegisterCursor {
  private readonly words: number[];
  /** Index of the next word to read or write. */
  position = 0;

  private constructor(words: number[]) {
    this.words = words;
  }

  /** A reader over `words` (not copied). Every word must be an integer 0..65535. */
  static reader(words: readonly number[]): RegisterCursor {
    words.forEach((word, i) => {
      if (!Number.isInteger(word) || word < 0 || word > WORD_MAX) {
        throw new ModbusMapError(`word ${i} is ${word}, not an integer 0..65535`);
      }
    });
    return new RegisterCursor(words as number[]);
  }

  static writer(): RegisterCursor {
    return new RegisterCursor([]);
  }

  /** True while unread words remain. */
  isMore(): boolean {
    return this.position < this.words.length;
  }

  remaining(): number {
    return this.words.length - this.position;
  }

  /** A copy of the words written so far. */
  getWritten(): number[] {
    return this.words.slice();
  }

  // ---- reading ----

  private next(): number {
    const word = this.words[this.position];
    if (word === undefined)
      throw new ModbusMapError(`need a word at ${this.position}, have ${this.words.length}`);
    this.position++;
    return word;
  }

  /** Skips `count` words. */
  skip(count: number): void {
    if (this.position + count > this.words.length) {
      throw new ModbusMapError(`cannot skip ${count} word(s) at ${this.position}, have ${this.words.length}`);
    }
    this.position += count;
  }

  readUInt16(): number {
    return this.next();
  }

  readUInt32(): number {
    const high = this.next();
    return high * 0x1_0000 + this.next();
  }

  readInt32(): number {
    const raw = this.readUInt32();
    return raw >= 0x8000_0000 ? raw - 0x1_0000_0000 : raw;
  }

  readUInt64(): bigint {
    let value = 0n;
    for (let i = 0; i < 4; i++) value = (value << 16n) | BigInt(this.next());
    return value;
  }

  /** `count` registers of two ASCII characters each, high byte first; trailing NULs removed. */
  readAscii(count: number): string {
    let text = '';
    for (let i = 0; i < count; i++) {
      const word = this.next();
      text += String.fromCharCode(word >> 8, word & 0xff);
    }
    return text.replace(/\0+$/, '');
  }

  // ---- writing (values are range-checked by the caller, which knows the register's name) ----

  writeUInt16(value: number): void {
    this.words.push(value & WORD_MAX);
  }

  writeUInt32(value: number): void {
    this.words.push(Math.floor(value / 0x1_0000) & WORD_MAX, value & WORD_MAX);
  }

  writeInt32(value: number): void {
    this.writeUInt32(value < 0 ? value + 0x1_0000_0000 : value);
  }

  writeUInt64(value: bigint): void {
    for (let shift = 48n; shift >= 0n; shift -= 16n) this.words.push(Number((value >> shift) & 0xffffn));
  }

  /** Writes `text` (ASCII) into `count` registers, NUL-padded on the right. */
  writeAscii(text: string, count: number): void {
    for (let i = 0; i < count; i++) {
      this.words.push(((text.charCodeAt(2 * i) || 0) << 8) | (text.charCodeAt(2 * i + 1) || 0));
    }
  }
}
