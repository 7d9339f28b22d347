import { NestFactory } from '@nestjs/core';
import { ConfigValidationError, loadConfig } from '@app/config';
import { assertServiceCredentials } from '@app/database';
import { AdminAccountsService, AdminCommandError, CreateAdminOptions } from '../admin/admin-accounts.service';
import { cliEnvSchema } from '../config/env';
import { CliModule } from './cli.module';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** The whole of standard input (for --password-stdin). */
  readStdin(): Promise<string>;
}

export const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

const USAGE = `Usage: npm run cli -- <command>

Commands:
  create-admin <email> [--password-stdin] [--first-name <name>] [--last-name <name>]
      Creates a verified admin account, or promotes the existing account with that email.
      Without --password-stdin a strong password is generated and printed once.
  ensure-admin <email>
      Creates the admin with a generated password (printed once) unless an admin with that email exists;
      changes nothing otherwise. Refuses when the email belongs to a customer account.`;

class UsageError extends Error {}

function parseCreateAdmin(args: string[]): {
  email: string;
  passwordFromStdin: boolean;
  names: CreateAdminOptions;
} {
  let email: string | undefined;
  let passwordFromStdin = false;
  const names: CreateAdminOptions = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--password-stdin') passwordFromStdin = true;
    else if (arg === '--first-name' || arg === '--last-name') {
      const value = args[++i];
      if (!value) throw new UsageError(`${arg} needs a value`);
      if (arg === '--first-name') names.firstName = value;
      else names.lastName = value;
    } else if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
    else if (email) throw new UsageError(`unexpected argument ${arg}`);
    else email = arg;
  }
  if (!email) throw new UsageError('create-admin needs an email address');
  return { email, passwordFromStdin, names };
}

async function createAdmin(args: string[], io: CliIo, env: NodeJS.ProcessEnv): Promise<number> {
  const { email, passwordFromStdin, names } = parseCreateAdmin(args);
  const config = loadConfig(cliEnvSchema, env);
  assertServiceCredentials('user-service', config);
  const password = passwordFromStdin ? (await io.readStdin()).replace(/\r?\n$/, '') : undefined;
  const app = await NestFactory.createApplicationContext(CliModule.withConfig(config), {
    logger: false,
    abortOnError: false,
  });
  try {
    const result = await app.get(AdminAccountsService).createAdmin(email, { ...names, password });
    io.out(
      result.created
        ? `created admin ${result.email} (id ${result.id})`
        : `promoted existing account ${result.email} (id ${result.id}) to admin`,
    );
    if (result.generated_password) {
      io.out(`password: ${result.generated_password}`);
      io.out('It is shown only now: store it, or change it after the first login.');
    }
    return 0;
  } finally {
    await app.close();
  }
}

async function ensureAdmin(args: string[], io: CliIo, env: NodeJS.ProcessEnv): Promise<number> {
  const [email, ...rest] = args;
  if (!email || rest.length) throw new UsageError('ensure-admin needs exactly one email address');
  const config = loadConfig(cliEnvSchema, env);
  assertServiceCredentials('user-service', config);
  const app = await NestFactory.createApplicationContext(CliModule.withConfig(config), {
    logger: false,
    abortOnError: false,
  });
  try {
    const result = await app.get(AdminAccountsService).ensureAdmin(email);
    if (!result.created) {
      io.out(`admin ${result.email} exists (id ${result.id}); nothing changed`);
      return 0;
    }
    io.out(`created admin ${result.email} (id ${result.id})`);
    io.out(`password: ${result.generated_password ?? ''}`);
    return 0;
  } finally {
    await app.close();
  }
}

/** The operator commands of user-service; returns the process exit code. */
export async function runCli(argv: string[], io: CliIo = processIo, env: NodeJS.ProcessEnv = process.env) {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'create-admin':
        return await createAdmin(args, io, env);
      case 'ensure-admin':
        return await ensureAdmin(args, io, env);
      case 'help':
      case '--help':
        io.out(USAGE);
        return 0;
      default:
        throw new UsageError(command ? `unknown command ${command}` : 'no command given');
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`error: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof AdminCommandError || error instanceof ConfigValidationError) {
      io.err(`error: ${error.message}`);
      return 1;
    }
    if (error instanceof Error && error.name === 'DbUserGuardError') {
      io.err(`error: ${error.message}`);
      return 1;
    }
    io.err(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return 1;
  }
}
