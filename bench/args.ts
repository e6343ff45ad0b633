/** Argument reading and figures shared by Rasid's benchmarks. */

/**
 * A reader of positive numeric options (`--rounds 5`) for one benchmark: the option's value, or `fallback`
 * when it is absent; anything not positive (or not whole, with `integer`) is refused with the bench's name.
 */
export function optionReader(
  bench: string,
  integer = false,
): (args: readonly string[], name: string, fallback: number) => number {
  return (args, name, fallback) => {
    const i = args.indexOf(name);
    if (i < 0) return fallback;
    const v = Number(args[i + 1]);
    if (integer) {
      if (!Number.isInteger(v) || v <= 0) throw new Error(`bench ${bench}: ${name} needs a positive integer`);
    } else if (!Number.isFinite(v) || v <= 0) {
      throw new Error(`bench ${bench}: ${name} needs a positive number`);
    }
    return v;
  };
}

/** The median (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The opening doc comment of a benchmark's source, as plain text. */
export function helpOf(source: string): string {
  const m = /\/\*\*([\s\S]*?)\*\//.exec(source);
  if (m === null) return 'no description\n';
  const lines = m[1]!.split('\n').map((l) => l.replace(/^\s*\* ?/, '').trimEnd());
  while (lines.length > 0 && lines[0] === '') lines.shift();
  while (lines.length > 0 && lines.at(-1) === '') lines.pop();
  return `${lines.join('\n')}\n`;
}
