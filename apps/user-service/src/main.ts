import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { runHttpService } from '@app/platform';
import { AppModule } from './app.module';
import { runCli } from './cli/cli';
import { envSchema } from './config/env';

// `node main.js` serves HTTP; `node main.js <command> …` runs an operator command (npm run cli -- …).
const commandLine = process.argv.slice(2);
if (commandLine.length > 0) {
  // A command reports its outcome itself (stdout/stderr and the exit code); Nest's boot logs are noise there.
  Logger.overrideLogger(false);
  void runCli(commandLine).then((code) => process.exit(code));
} else {
  runHttpService('user-service', AppModule, envSchema);
}
