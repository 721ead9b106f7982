import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ConfigError, InputError } from '@gatehouse/server';
import { auditCommand, clientsCommand, envCommand, usersCommand } from './commands/admin.js';
import { backupCommands } from './commands/backup.js';
import { LoginError, loginCommands } from './commands/login.js';
import { initCommand } from './commands/init.js';
import { keysCommand } from './commands/keys.js';
import { operatorsCommand } from './commands/operators.js';
import { redirectsCommand } from './commands/redirects.js';
import { registrationCommand, resourcesCommand } from './commands/registration.js';
import { releaseCommands } from './commands/release.js';
import { serveCommand } from './commands/serve.js';
import { printable } from './output/text.js';
import { ExitCode, UsageError } from './errors.js';
import type { CliIo } from './io.js';

export { ExitCode, UsageError } from './errors.js';
export { processIo, type CliIo, type OutputStream } from './io.js';

const { version } = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as {
  version: string;
};

/** Commander's error codes that mean "called wrongly" rather than "ran and said no". */
const USAGE_CODES = new Set([
  'commander.missingArgument',
  'commander.optionMissingArgument',
  'commander.missingMandatoryOptionValue',
  'commander.conflictingOption',
  'commander.unknownOption',
  'commander.excessArguments',
  'commander.unknownCommand',
  'commander.invalidArgument',
  'commander.help',
]);

export function buildProgram(io: CliIo, setExitCode: (code: ExitCode) => void): Command {
  const program = new Command('gatehouse')
    .description(
      'Gatehouse: an OAuth 2.1 / OpenID Connect authorization server where the redirect URI is a trust boundary',
    )
    .version(version, '-v, --version')
    .showSuggestionAfterError(true)
    // Each command reads its own options: `login doctor --issuer X` gives --issuer to the doctor,
    // not to `login` (which needs the root to stop at `login` too, not only `login` at `doctor`).
    .enablePositionalOptions()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // One readable line, prefixed with the program name, whatever commander's wording.
      outputError: (text, write) => {
        write(`gatehouse: ${text.trim().replace(/\s*\n\s*/g, ' ')}\n`);
      },
    })
    .exitOverride();
  program.addCommand(serveCommand(io, io.waitForStop));
  program.addCommand(initCommand(io));
  program.addCommand(envCommand(io));
  program.addCommand(clientsCommand(io));
  program.addCommand(usersCommand(io));
  program.addCommand(operatorsCommand(io));
  program.addCommand(keysCommand(io));
  program.addCommand(resourcesCommand(io));
  program.addCommand(registrationCommand(io));
  for (const command of releaseCommands(io, setExitCode)) program.addCommand(command);
  program.addCommand(
    auditCommand(io, () => {
      setExitCode(ExitCode.Failed);
    }),
  );
  for (const command of backupCommands(io, () => {
    setExitCode(ExitCode.Failed);
  }))
    program.addCommand(command);
  for (const command of loginCommands(io, setExitCode)) program.addCommand(command);
  program.addCommand(redirectsCommand(io, setExitCode));
  // Subcommands do not inherit these settings from commander; apply them at every depth.
  const output = program.configureOutput();
  const configure = (command: Command): void => {
    command.exitOverride().configureOutput(output);
    command.commands.forEach(configure);
  };
  configure(program);
  return program;
}

/**
 * Runs `gatehouse` with these arguments (without the node and script paths) and returns the exit
 * code. Never calls process.exit, so that it can run in-process in tests.
 */
export async function run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let exitCode: ExitCode = ExitCode.Ok;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version')
        return ExitCode.Ok;
      return USAGE_CODES.has(error.code) ? ExitCode.Usage : ExitCode.Failed;
    }
    if (error instanceof UsageError || error instanceof ConfigError) {
      io.stderr.write(`gatehouse: error: ${printable(error.message)}\n`);
      return ExitCode.Usage;
    }
    if (error instanceof LoginError) {
      io.stderr.write(`gatehouse: error: ${printable(error.message)}\n`);
      return ExitCode.Failed;
    }
    if (error instanceof InputError) {
      // Nothing was changed. A refusal by the redirect policy lists every refused URI.
      io.stderr.write(`gatehouse: error: ${printable(error.message)}\n`);
      if (error.details.length > 1) {
        for (const detail of error.details)
          io.stderr.write(`  ${printable(JSON.stringify(detail))}\n`);
      }
      return ExitCode.Failed;
    }
    // A bug, not a user error: say so in one line, without internals on a production console.
    io.stderr.write(
      `gatehouse: internal error: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return ExitCode.Failed;
  }
}
