import {
  GatewayReport,
  InvalidStatusUpdateError,
  PaymentGateway,
  PaymentsDisabledError,
  StartedPayment,
} from './payment-gateway';

/** PAYMENT_GATEWAY=none: the platform takes no online payments (operators record them by hand). */
export class NonePaymentGateway extends PaymentGateway {
  readonly name = 'none' as const;
  readonly takesPayments = false;

  ensureEnabled(): void {
    throw new PaymentsDisabledError();
  }

  start(): Promise<StartedPayment> {
    return Promise.reject(new PaymentsDisabledError());
  }

  check(): Promise<GatewayReport> {
    return Promise.reject(new PaymentsDisabledError());
  }

  readStatusUpdate(): GatewayReport {
    throw new InvalidStatusUpdateError('no payment gateway is configured (PAYMENT_GATEWAY=none)');
  }
}
