/** Command-line arguments of the benchmark scripts: names, and `--key=value` options (`--flag` alone is "true"). */
export interface BenchArgs {
  readonly names: readonly string[];
  readonly options: ReadonlyMap<string, string>;
}

/** Splits `args` (default: this process's) into names and options. */
export const benchArgs = (args: readonly string[] = process.argv.slice(2)): BenchArgs => {
  const names: string[] = [];
  const options = new Map<string, string>();
  for (const arg of args) {
    if (!arg.startsWith('--')) names.push(arg);
    else {
      const [key, ...value] = arg.slice(2).split('=');
      options.set(key!, value.length ? value.join('=') : 'true');
    }
  }
  return { names, options };
};
