// Types for the part of siphash 1.2 (BSD-2-Clause, github.com/jedisct1/siphash-js) that Rasid's OpenPAYGO
// codec uses. The key is four 32-bit words, each read little-endian from the 16 key bytes; the result is the
// 64-bit SipHash-2-4 output split into its high (`h`) and low (`l`) 32-bit halves.
declare module 'siphash' {
  interface SipHash64 {
    readonly h: number;
    readonly l: number;
  }
  const SipHash: {
    hash(key: ArrayLike<number>, message: Uint8Array | string): SipHash64;
    hash_hex(key: ArrayLike<number>, message: Uint8Array | string): string;
  };
  export default SipHash;
}
