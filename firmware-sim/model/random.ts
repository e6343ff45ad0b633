/**
 * Seeded, stateless randomness for the simulator. Every draw is a pure function of a seed and an index
 * (a minute number, a meter number), so a meter's curve does not depend on how often it is advanced or in
 * which order a fleet is stepped.
 */

/** A 32-bit seed from any mix of strings and numbers (FNV-1a over their text). */
export function seedFrom(...parts: readonly (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    const s = `${part}\u0000`;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
  }
  return h >>> 0;
}

/** Mixes a seed and an index into 32 well-spread bits (a murmur3-style finaliser). */
export function hash32(seed: number, index: number): number {
  let h =
    (seed ^ Math.imul(index | 0, 0x9e3779b1) ^ Math.imul((index / 0x1_0000_0000) | 0, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uniform number in [0, 1) for (seed, index). */
export function uniformAt(seed: number, index: number): number {
  return hash32(seed, index) / 0x1_0000_0000;
}

/** An approximately standard normal number for (seed, index): Irwin–Hall sum of four uniforms. */
export function gaussianAt(seed: number, index: number): number {
  const s =
    uniformAt(seed, index * 4) +
    uniformAt(seed, index * 4 + 1) +
    uniformAt(seed, index * 4 + 2) +
    uniformAt(seed, index * 4 + 3);
  // The sum of four U(0,1) has mean 2 and variance 1/3.
  return (s - 2) * Math.sqrt(3);
}

/** A sequential generator (mulberry32) for one-off draws such as a meter's base load. */
export function sequence(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}
