import 'reflect-metadata';
import { runHttpService } from '@app/platform';
import { AppModule } from './app.module';
import { envSchema } from './config/env';

runHttpService('user-service', AppModule, envSchema);
