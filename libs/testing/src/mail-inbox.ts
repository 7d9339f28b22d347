import { setTimeout as sleep } from 'node:timers/promises';

/** A message as MailDev's HTTP API lists it. */
export interface InboxMail {
  id: string;
  subject: string;
  time: string;
  text?: string;
  to: { address: string }[];
}

/**
 * The mail catcher start:local runs (MailDev), read through its own HTTP API as a person's tools would:
 * `GET <inbox>/api/email`.
 */
export class MailInbox {
  constructor(readonly url: string) {}

  async list(): Promise<InboxMail[]> {
    const res = await fetch(`${this.url}/api/email`);
    if (!res.ok) throw new Error(`inbox ${this.url} answered ${res.status}`);
    return (await res.json()) as InboxMail[];
  }

  /** The newest message to `to` whose subject matches, waiting up to `timeoutMs` for it. */
  async waitFor(to: string, subject: RegExp, timeoutMs = 15_000): Promise<InboxMail> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = (await this.list())
        .filter(
          (m) => m.to.some((t) => t.address.toLowerCase() === to.toLowerCase()) && subject.test(m.subject),
        )
        .at(-1);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no mail to ${to} matching ${String(subject)} in ${this.url}`);
      await sleep(200);
    }
  }
}

/** The link to `…<path>?token=…` in a message, and its token. */
export function linkInMail(
  mail: Pick<InboxMail, 'text' | 'subject'>,
  path: string,
): { url: string; token: string } {
  const escaped = path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const match = new RegExp(`(https?://[^\\s"'<>]*${escaped}\\?token=([A-Za-z0-9_-]+))`).exec(mail.text ?? '');
  if (!match?.[1] || !match[2]) throw new Error(`no ${path}?token= link in mail "${mail.subject}"`);
  return { url: match[1], token: match[2] };
}
