/**
 * `tes`: a command line for any GA4GH TES 1.1 server. Run it as `npx tes` in this repository
 * (bin/tes.mjs runs this file's bundle). Parsing is commander's; each command is one function of
 * commands.ts; here every failure becomes one line on stderr and an exit code (exit-codes.ts).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { TES_STATES, TES_VIEWS } from '../lambdas/domain/tes.js';
import { TesClient } from './client.js';
import * as commands from './commands.js';
import { errorExitCode } from './errors.js';
import { EXIT, EXIT_CODES_HELP } from './exit-codes.js';
import { Interrupted } from './follow.js';
import { DEFAULT_SERVER, serverUrl } from './server-url.js';

interface GlobalOptions {
  server?: string;
  token?: string;
  json?: boolean;
  quiet?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function whole(option: string, least: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (value.trim() === '' || !Number.isInteger(number) || number < least) throw new InvalidArgumentError(`${option} takes a whole number from ${least} up.`);
    return number;
  };
}

/** The options every command takes, after its name or before it. */
function withGlobalOptions(command: Command): Command {
  return command
    .option('--server <url>', `the TES base URL (env TES_SERVER; default ${DEFAULT_SERVER}); a URL without a path gets /ga4gh/tes/v1`)
    .option('--token <token>', 'a bearer token (env TES_TOKEN)')
    .option('--json', 'print JSON (the TES documents) instead of text')
    .option('-q, --quiet', 'no progress or notes on stderr');
}

/** run and submit describe a task the same way. */
function withTaskOptions(command: Command): Command {
  return command
    .option('--image <image>', "the executor's container image")
    .option('--name <name>', "the task's name")
    .option('--workdir <dir>', "the executor's working directory")
    .option('-e, --env <K=V>', 'an environment variable (repeatable); K alone takes its value from here', collect)
    .option('--cpu <n>', 'CPU cores (a whole number)')
    .option('--ram <gb>', 'memory in GB')
    .option('--disk <gb>', 'disk in GB')
    .option('--tag <K=V>', 'a tag (repeatable)', collect)
    .option('--input <URL:PATH>', 'an input: fetched from URL to PATH (repeatable; a trailing / is a directory)', collect)
    .option('--output <PATH:URL>', 'an output: PATH uploaded to URL (repeatable; wildcards and a trailing / too)', collect)
    .option('--file <task.json>', "a TES task document instead (- reads stdin); --name and --tag still apply")
    .argument('[command...]', 'what the executor runs, after --')
    .passThroughOptions();
}

function program(run: (action: (context: commands.Context) => Promise<number>, options: GlobalOptions) => Promise<void>): Command {
  const tes = withGlobalOptions(new Command('tes'))
    .description('Run and watch tasks on a GA4GH TES 1.1 server.')
    .enablePositionalOptions()
    .showHelpAfterError('(tes --help, or tes <command> --help, says more)')
    // Commander's own complaints read like ours: `tes: unknown option '--x'`.
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'tes: ')) })
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  tes run --image alpine -- sh -c 'echo hi; exit 3'     prints hi, exits 3
  tes submit --image alpine --tag run=7 -- sleep 60     prints the new task's id
  tes list --state RUNNING --all
  tes logs -f <id>

The server is --server, else TES_SERVER, else ${DEFAULT_SERVER} (npm start);
a token is --token, else TES_TOKEN.

${EXIT_CODES_HELP}`,
    );

  withGlobalOptions(
    withTaskOptions(tes.command('run'))
      .description("create a task and follow it: its executors' output as it comes, then exit with its outcome")
      .option('-d, --detach', 'only create it, and print its id'),
  )
    .addHelpText('after', `\nThe command is everything after -- (or from the first word that is no option on).\nExits 0 when the task completes, else with its last executor's exit code (tes --help lists the rest).\nCtrl-C cancels the task.`)
    .action((command: string[], options: commands.RunOptions & GlobalOptions) => run((c) => commands.run(c, options, command), options));

  withGlobalOptions(withTaskOptions(tes.command('submit')).description('create a task without following it: prints its id ({"id": …} with --json)')).action(
    (command: string[], options: commands.RunOptions & GlobalOptions) => run((c) => commands.submit(c, options, command), options),
  );

  withGlobalOptions(
    tes
      .command('get')
      .description('show one task')
      .argument('<id>')
      .addOption(new Option('--view <view>', 'how much of it (default BASIC)').choices(TES_VIEWS)),
  ).action((id: string, options: { view?: (typeof TES_VIEWS)[number] } & GlobalOptions) => run((c) => commands.get(c, id, options.view), options));

  withGlobalOptions(
    tes
      .command('list')
      .description('list tasks, newest first: one page, or every page with --all')
      .addOption(new Option('--state <state>', 'only tasks in this state').choices(TES_STATES))
      .option('--name-prefix <prefix>', 'only tasks whose name starts so')
      .option('--tag <K=V>', 'only tasks with this tag (repeatable; K alone: any value)', collect)
      .addOption(new Option('--view <view>', 'how much of each (default BASIC)').choices(TES_VIEWS))
      .option('--page-size <n>', 'tasks a page (the server caps it)', whole('--page-size', 1))
      .option('--page-token <token>', 'the page a previous list said comes next')
      .option('--all', 'every page, following next_page_token'),
  ).action((options: commands.ListOptions & GlobalOptions) => run((c) => commands.list(c, options), options));

  withGlobalOptions(tes.command('wait').description('wait until every task has ended: exits 0 when all completed, else as the first that did not').argument('<id...>')).action(
    (ids: string[], options: GlobalOptions) => run((c) => commands.wait(c, ids), options),
  );

  withGlobalOptions(tes.command('cancel').description('cancel tasks').argument('<id...>')).action((ids: string[], options: GlobalOptions) => run((c) => commands.cancel(c, ids), options));

  withGlobalOptions(
    tes
      .command('logs')
      .description("print a task's executor output: stdout on stdout, stderr on stderr (the server keeps each one's last part)")
      .argument('<id>')
      .option('-f, --follow', 'follow a task that still runs, until it ends')
      .option('--executor <i>', 'only this executor (0 is the first)', whole('--executor', 0))
      .option('--stderr', "only the executors' stderr, printed on stdout"),
  ).action((id: string, options: commands.LogsOptions & GlobalOptions) => run((c) => commands.logs(c, id, options), options));

  return tes;
}

/** Runs `tes` with these arguments; the exit code. */
export async function main(argv: readonly string[], environment: Readonly<Record<string, string | undefined>>): Promise<number> {
  let code: number = EXIT.ok;
  let globals: GlobalOptions = {};
  const tes = program(async (action, options) => {
    const merged = { ...globals, ...options };
    const token = merged.token ?? environment['TES_TOKEN'];
    const context: commands.Context = {
      client: new TesClient(serverUrl(merged.server ?? environment['TES_SERVER']), token === undefined || token === '' ? undefined : token),
      json: merged.json === true,
      quiet: merged.quiet === true,
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
      stdin: process.stdin,
      terminal: process.stderr,
      environment,
    };
    code = await action(context);
  });
  // Options given before the command name (tes --server URL list) are the program's own.
  tes.hook('preAction', (_tes, command) => {
    globals = command.parent?.opts<GlobalOptions>() ?? {};
  });
  try {
    await tes.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed the help, the version or what is wrong with the arguments.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof Interrupted) return EXIT.interrupted;
    process.stderr.write(`tes: ${(error as Error).message}\n`);
    return errorExitCode(error);
  }
}

// Writes to a closed pipe (tes logs … | head) end the command quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(EXIT.ok);
  throw error;
});
const code = await main(process.argv.slice(2), process.env);
// Keep-alive connections would hold the process open a few seconds after the last answer.
await new Promise<void>((done) => process.stdout.write('', () => done()));
process.exit(code);
