import { HttpStatus } from '@nestjs/common';
import { ConflictError, DomainError } from '@app/http';

/** Methods a customer can pay with. Mobile wallets need a phone and use express checkout; `card` goes to PayNow's page. */
export const PAYMENT_METHODS = ['ecocash', 'onemoney', 'innbucks', 'paygo', 'card'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];
export const MOBILE_METHODS: readonly PaymentMethod[] = ['ecocash', 'onemoney', 'innbucks', 'paygo'];

export const PAYMENT_STATUSES = ['pending', 'paid', 'cancelled', 'failed', 'refunded', 'disputed'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export interface StartPaymentRequest {
  /** Our payment id: PayNow's `reference`, and the Kill Bill paymentExternalKey later. */
  reference: string;
  amount: number;
  description: string;
  method: PaymentMethod;
  /** Normalised (07…), mobile methods only. */
  phone?: string;
  customerEmail: string;
}

export interface StartedPayment {
  gatewayReference: string | null;
  pollUrl: string;
  redirectUrl: string | null;
  instructions: string | null;
}

/** What the gateway says about a payment (from a poll or a verified status update). */
export interface GatewayReport {
  reference: string;
  amount: number | null;
  gatewayReference: string | null;
  pollUrl: string | null;
  /** The gateway's own word (PayNow: Created, Sent, Paid, Awaiting Delivery, Delivered, Cancelled…). */
  gatewayStatus: string;
  status: PaymentStatus;
}

/**
 * The payment gateway port. One implementation is chosen at boot by PAYMENT_GATEWAY (PayNow, or `none`, which
 * refuses every payment with a clear error); nothing else in the service knows which one runs.
 */
export abstract class PaymentGateway {
  abstract readonly name: 'paynow' | 'none';
  /** Whether payments are taken at all (and so whether pending ones are polled). */
  abstract readonly takesPayments: boolean;
  /** Throws PaymentsDisabledError when payments are off (checked before anything is written). */
  abstract ensureEnabled(): void;
  /** Starts a payment; throws PaymentRefusedError (the gateway said no) or PaymentGatewayUnavailableError. */
  abstract start(request: StartPaymentRequest): Promise<StartedPayment>;
  /** Asks the gateway for the payment's current status (PayNow: an empty POST to the poll URL). */
  abstract check(pollUrl: string): Promise<GatewayReport>;
  /** Verifies and reads a status update posted to us; throws InvalidStatusUpdateError when it is not authentic. */
  abstract readStatusUpdate(body: string): GatewayReport;
}

export class PaymentsDisabledError extends ConflictError {
  constructor() {
    super('PAYMENTS_DISABLED', 'Online payments are disabled on this platform (PAYMENT_GATEWAY=none)');
  }
}

/** The gateway refused to start the payment (for example an insufficient balance): nothing is kept pending. */
export class PaymentRefusedError extends DomainError {
  constructor(
    readonly gatewayMessage: string,
    readonly declined: boolean,
  ) {
    super(
      declined ? HttpStatus.PAYMENT_REQUIRED : HttpStatus.UNPROCESSABLE_ENTITY,
      declined ? 'PAYMENT_DECLINED' : 'PAYMENT_REFUSED',
      `The payment gateway refused the payment: ${gatewayMessage}`,
      [{ gateway_message: gatewayMessage }],
    );
  }
}

export class PaymentGatewayUnavailableError extends DomainError {
  constructor(readonly detail: string) {
    super(HttpStatus.SERVICE_UNAVAILABLE, 'DEPENDENCY_UNAVAILABLE', 'The payment gateway is unavailable');
  }
}

/** A message that claims to come from the gateway but whose hash is missing or wrong, or that is malformed. */
export class InvalidStatusUpdateError extends DomainError {
  constructor(reason: string) {
    super(HttpStatus.BAD_REQUEST, 'INVALID_STATUS_UPDATE', reason);
  }
}
