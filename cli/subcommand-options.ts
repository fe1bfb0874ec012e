/**
 * The options each subcommand takes. `kt identity`, `kt provider`, `kt witness` and `kt keytrans` parse one set of
 * options for all their subcommands; a subcommand given an option that only another one reads refuses it, a usage
 * error (exit 2) naming the command, the subcommand, the option and the options it takes, instead of ignoring it:
 * `kt identity new --key x.json` would otherwise write identity.json while its user believes it wrote x.json. Only
 * the options present on the command line count (parseArgs's `tokens`), never the defaults; `--help` (`-h`) goes
 * with every subcommand.
 */
import { UsageError } from './output.js';

/** A token of parseArgs with `tokens: true`: an option's has its long name, whether given long or short. */
interface ArgToken {
  kind: string;
  name?: string;
}

/** The long names of the options in `tokens`, each once, in the order first given. */
function givenOptions(tokens: readonly ArgToken[]): string[] {
  const names = tokens.flatMap((t) => (t.kind === 'option' && t.name !== undefined ? [t.name] : []));
  return [...new Set(names)];
}

/** Two options of a subcommand that cannot go together, and why (the end of the refusal's sentence). */
export type ApartOptions = readonly [string, string, string];

/**
 * Refuses the options given to `kt COMMAND SUB` (`tokens`, from parseArgs with `tokens: true`) that SUB does not
 * take (`takes`, long names without `--`; `help` goes with every subcommand): a UsageError such as
 * `kt identity new does not take --key (it takes --out, --json)`; then any pair of `apart` given together, such as
 * `kt provider publish does not take --protocol with --delete: a deletion binds no identity key`.
 */
export function checkSubcommandOptions(
  command: string,
  sub: string,
  tokens: readonly ArgToken[] | undefined,
  takes: readonly string[],
  apart: readonly ApartOptions[] = [],
): void {
  const given = givenOptions(tokens ?? []);
  const refused = given.filter((name) => name !== 'help' && !takes.includes(name));
  const list = (names: readonly string[]) => names.map((name) => `--${name}`).join(', ');
  if (refused.length > 0) {
    const taken = takes.length > 0 ? `it takes ${list(takes)}` : 'it takes no options';
    throw new UsageError(`kt ${command} ${sub} does not take ${list(refused)} (${taken})`);
  }
  const together = apart.find(([a, b]) => given.includes(a) && given.includes(b));
  if (together)
    throw new UsageError(`kt ${command} ${sub} does not take --${together[0]} with --${together[1]}: ${together[2]}`);
}
