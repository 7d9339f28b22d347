import { Logger } from '@nestjs/common';

// Imported first: scanning five apps in one process makes TypeORM warn, as the modules load, about the
// shared default data source name; the document needs none of Nest's logs.
Logger.overrideLogger(false);
