import { randomBytes } from 'node:crypto';
import {
  OPERATOR_ROLES,
  createOperator,
  operatorView,
  setOperatorDisabled,
  type Operator,
} from '@gatehouse/server';
import { Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { printable } from '../output/text.js';
import {
  withDataOptions,
  withStores,
  writeJson,
  type DataOptions,
  type JsonOption,
} from './data-options.js';

function operatorJson(operator: Operator): Record<string, unknown> {
  const view = operatorView(operator);
  return { ...view, createdAt: new Date(operator.createdAt).toISOString() };
}

function line(operator: Operator): string {
  return `${operator.id}  ${printable(operator.email).padEnd(32)}  ${operator.role.padEnd(8)}${operator.disabled ? '  (disabled)' : ''}`.trimEnd();
}

/** `gatehouse operators`: the people who run Gatehouse through the console and the admin API. */
export function operatorsCommand(io: CliIo): Command {
  const operators = new Command('operators').description(
    'manage operators: the people who use the admin console and API (not end users)',
  );
  operators.addCommand(
    withDataOptions(
      new Command('create')
        .description(
          'create an operator; without --password-stdin a strong password is generated and shown once',
        )
        .requiredOption('--email <email>', 'the sign-in email')
        .addOption(
          new Option('--role <role>', 'admin, support or viewer')
            .choices([...OPERATOR_ROLES])
            .makeOptionMandatory(),
        )
        .option(
          '--password-stdin',
          'read the password from standard input (never from an argument)',
        )
        .option('--json', 'JSON output'),
    ).action(
      (
        options: DataOptions &
          JsonOption & { email: string; role: string; passwordStdin?: boolean },
      ) =>
        withStores(options, io, async (ctx) => {
          let password: string;
          let generated = false;
          if (options.passwordStdin === true) {
            password = (await io.readStdin()).replace(/\r?\n$/, '');
            if (password === '') throw new UsageError('--password-stdin read an empty password');
          } else {
            password = randomBytes(18).toString('base64url');
            generated = true;
          }
          const operator = await createOperator(ctx, {
            email: options.email,
            role: options.role,
            password,
          });
          if (options.json === true) {
            writeJson(io, { ...operatorJson(operator), ...(generated ? { password } : {}) });
            return;
          }
          io.stdout.write(
            [
              `created operator ${printable(operator.email)} (${operator.id}) with role ${operator.role}`,
              ...(generated
                ? [
                    `password: ${password}`,
                    'shown once: store it now, or create the operator with --password-stdin',
                  ]
                : []),
              'sign in at /admin on the server',
            ].join('\n') + '\n',
          );
        }),
    ),
  );
  operators.addCommand(
    withDataOptions(
      new Command('list').description('list operators').option('--json', 'JSON output'),
    ).action((options: DataOptions & JsonOption) =>
      withStores(options, io, async (ctx) => {
        const all = await ctx.stores.operators.list();
        if (options.json === true) {
          writeJson(io, all.map(operatorJson));
          return;
        }
        io.stdout.write(
          `${(all.length === 0 ? ['no operators yet: create one with gatehouse operators create'] : all.map(line)).join('\n')}\n`,
        );
      }),
    ),
  );
  for (const [name, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    operators.addCommand(
      withDataOptions(
        new Command(name)
          .description(
            disabled
              ? 'disable an operator; their console sessions end at once'
              : 'enable an operator',
          )
          .argument('<operator>', 'id or email')
          .option('--json', 'JSON output'),
      ).action((who: string, options: DataOptions & JsonOption) =>
        withStores(options, io, async (ctx) => {
          const operator = await setOperatorDisabled(ctx, who, disabled);
          if (options.json === true) {
            writeJson(io, operatorJson(operator));
            return;
          }
          io.stdout.write(`${line(operator)}\n`);
        }),
      ),
    );
  }
  return operators;
}
