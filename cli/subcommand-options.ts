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

/**
 * Refuses the options given to `kt COMMAND SUB` (`tokens`, from parseArgs with `tokens: true`) that SUB does not
 * take (`takes`, long names without `--`; `help` goes with every subcommand): a UsageError such as
 * `kt identity new does not take --key (it takes --out, --json)`.
 */
export function checkSubcommandOptions(
  command: string,
  sub: string,
  tokens: readonly ArgToken[] | undefined,
  takes: readonly string[],
): void {
  const refused = givenOptions(tokens ?? []).filter((name) => name !== 'help' && !takes.includes(name));
  if (refused.length === 0) return;
  const list = (names: readonly string[]) => names.map((name) => `--${name}`).join(', ');
  const taken = takes.length > 0 ? `it takes ${list(takes)}` : 'it takes no options';
  throw new UsageError(`kt ${command} ${sub} does not take ${list(refused)} (${taken})`);
}
