import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsNumber, IsOptional, IsPositive, IsString, IsUUID, Length } from 'class-validator';
import { PAYMENT_METHODS, PAYMENT_STATUSES } from './payment-gateway';
import type { PaymentMethod, PaymentStatus } from './payment-gateway';

export class CreatePaymentDto {
  @ApiProperty({ description: 'The Kill Bill invoice to pay (its balance is charged)' })
  @IsUUID()
  invoice_id: string;

  @ApiProperty({ enum: PAYMENT_METHODS, description: 'Mobile wallets use express checkout; card redirects' })
  @IsIn(PAYMENT_METHODS)
  method: PaymentMethod;

  @ApiPropertyOptional({ description: 'Required for mobile methods: 07XXXXXXXX or +2637XXXXXXXX' })
  @IsOptional()
  @IsString()
  @Length(1, 20)
  phone?: string;
}

export class PaymentFilterDto {
  @ApiPropertyOptional({ enum: PAYMENT_STATUSES })
  @IsOptional()
  @IsIn(PAYMENT_STATUSES)
  status?: PaymentStatus;

  @ApiPropertyOptional()
  @IsOptional()
  @IsUUID()
  tenant_id?: string;
}

export class AdminPaymentFilterDto {
  @ApiPropertyOptional({ enum: PAYMENT_STATUSES })
  @IsOptional()
  @IsIn(PAYMENT_STATUSES)
  status?: PaymentStatus;
}

export class ExternalPaymentDto {
  @ApiPropertyOptional({ description: 'Amount paid (default: the invoice balance)', example: 5 })
  @IsOptional()
  @IsNumber({ maxDecimalPlaces: 2 })
  @IsPositive()
  amount?: number;

  @ApiProperty({ description: 'Reference of the payment outside the platform (a retry with it is safe)' })
  @IsString()
  @Length(1, 128)
  reference: string;
}
