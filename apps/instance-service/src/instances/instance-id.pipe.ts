import { Injectable, PipeTransform } from '@nestjs/common';
import { NotFoundError } from '@app/http';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An instance id that is not a UUID names no instance: 404, like any other unknown id. */
@Injectable()
export class InstanceIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!UUID.test(value)) throw new NotFoundError('Instance');
    return value.toLowerCase();
  }
}
