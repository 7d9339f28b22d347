import { ApiProperty } from '@nestjs/swagger';
import { Acknowledgement } from '../auth/auth.views';

/**
 * DELETE /users/account: the account is deactivated; the instances terminated with it (terminate_instances).
 * Its own file: auth.views imports user.views, so user.views must not import auth.views back.
 */
export class AccountDeleted extends Acknowledgement {
  @ApiProperty({ type: [String], format: 'uuid', description: 'Instances terminated with the account' })
  terminated_instances: string[];
}
