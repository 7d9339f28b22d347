import 'reflect-metadata';
import { runHttpService } from '@app/platform';
import { AppModule } from './app.module';
import { envSchema } from './config/env';

runHttpService('instance-service', AppModule, envSchema);
