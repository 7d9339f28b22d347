import {
  GatewayReport,
  InvalidStatusUpdateError,
  PaymentGateway,
  PaymentGatewayUnavailableError,
  PaymentRefusedError,
  PaymentStatus,
  StartedPayment,
  StartPaymentRequest,
} from '../payment-gateway';
import { PaynowClient, PaynowProtocolError, PaynowStatus, PaynowUnavailableError } from './paynow.client';

/** PayNow's statuses (developers.paynow.co.zw "Status Update") as ours. Anything else is a failure (test mode). */
export function paymentStatusOf(paynowStatus: string): PaymentStatus {
  switch (paynowStatus.trim().toLowerCase()) {
    case 'created':
    case 'sent':
      return 'pending';
    case 'paid':
    case 'awaiting delivery':
    case 'delivered':
      return 'paid';
    case 'cancelled':
      return 'cancelled';
    case 'refunded':
      return 'refunded';
    case 'disputed':
      return 'disputed';
    default:
      return 'failed';
  }
}

function report(status: PaynowStatus): GatewayReport {
  const amount = status.amount === null ? null : Number(status.amount);
  return {
    reference: status.reference,
    amount: amount === null || Number.isNaN(amount) ? null : amount,
    gatewayReference: status.paynowReference,
    pollUrl: status.pollUrl,
    gatewayStatus: status.status,
    status: paymentStatusOf(status.status),
  };
}

export interface PaynowGatewayOptions {
  /** true: authemail is the merchant's own email (PayNow requires it of an integration in test mode). */
  testMode: boolean;
  merchantEmail: string;
}

export class PaynowGateway extends PaymentGateway {
  readonly name = 'paynow' as const;
  readonly takesPayments = true;

  constructor(
    private readonly client: PaynowClient,
    private readonly options: PaynowGatewayOptions,
  ) {
    super();
  }

  ensureEnabled(): void {
    // PayNow is configured (the env schema requires its settings when PAYMENT_GATEWAY=paynow).
  }

  async start(request: StartPaymentRequest): Promise<StartedPayment> {
    const base = {
      reference: request.reference,
      amount: request.amount,
      additionalInfo: request.description,
      authEmail: this.options.testMode ? this.options.merchantEmail : request.customerEmail,
    };
    try {
      const answer =
        request.method === 'card'
          ? await this.client.initiate(base)
          : await this.client.initiateExpress({
              ...base,
              method: request.method,
              phone: request.phone ?? '',
            });
      if (!answer.ok)
        throw new PaymentRefusedError(answer.error, /insufficient|balance|funds/i.test(answer.error));
      return {
        gatewayReference: answer.paynowReference,
        pollUrl: answer.pollUrl,
        redirectUrl: answer.browserUrl,
        instructions: answer.instructions,
      };
    } catch (error) {
      if (error instanceof PaynowUnavailableError || error instanceof PaynowProtocolError) {
        throw new PaymentGatewayUnavailableError(error.message);
      }
      throw error;
    }
  }

  async check(pollUrl: string): Promise<GatewayReport> {
    try {
      return report(await this.client.poll(pollUrl));
    } catch (error) {
      if (error instanceof PaynowUnavailableError || error instanceof PaynowProtocolError) {
        throw new PaymentGatewayUnavailableError(error.message);
      }
      throw error;
    }
  }

  readStatusUpdate(body: string): GatewayReport {
    try {
      return report(this.client.readStatusUpdate(body));
    } catch (error) {
      if (error instanceof PaynowProtocolError) throw new InvalidStatusUpdateError(error.message);
      throw error;
    }
  }
}
