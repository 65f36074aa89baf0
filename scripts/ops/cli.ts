import { type ParseArgsConfig, parseArgs } from 'node:util';
import { OpsError } from './ops-error.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses a command's flags: `--help` prints `usage` and exits 0; an unknown flag
 * fails with the list of valid ones, rather than Node's bare ERR_PARSE_ARGS_UNKNOWN_OPTION.
 */
export function parseCommandLine(
  command: string,
  usage: string,
  options: Options,
  args = process.argv.slice(2),
  allowPositionals = false,
) {
  const all: Options = { ...options, help: { type: 'boolean', short: 'h' } };
  const valid = Object.entries(all)
    .map(([name, option]) => `--${name}${option.type === 'string' ? ' <value>' : ''}`)
    .join(', ');
  let parsed: ReturnType<typeof parseArgs<{ options: Options; allowPositionals: boolean; args: string[] }>>;
  try {
    parsed = parseArgs({ options: all, args, allowPositionals, strict: true });
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
    const what =
      code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
        ? `unknown option ${quoted}`
        : code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL'
          ? `unexpected argument "${quoted}"`
          : code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE'
            ? `option ${quoted.split(' ')[0]} needs a value`
            : message;
    throw new OpsError(`${what}; valid options: ${valid} (${command} -- --help)`);
  }
  if (parsed.values.help) {
    process.stdout.write(`${usage.trim()}\n`);
    process.exit(0);
  }
  return parsed;
}
