import { z } from 'zod';

/** Kill Bill's push payload (NotificationJson, contract §3.1): five fields, metaData a JSON *string*. */
export const killBillNotificationSchema = z.object({
  eventType: z.string().min(1).max(64),
  accountId: z.string().max(64).nullable(),
  objectType: z.string().min(1).max(64),
  objectId: z.string().max(64).nullable(),
  metaData: z.string().nullable(),
});
export type KillBillNotification = z.infer<typeof killBillNotificationSchema>;

/** Parses a stored body; null when it is not a Kill Bill notification. */
export function parseNotification(body: string): KillBillNotification | null {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return null;
  }
  const parsed = killBillNotificationSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}
