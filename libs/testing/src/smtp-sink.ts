import { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** A message as it arrived over SMTP, with the parts a test looks at already decoded. */
export interface ReceivedMail {
  /** Envelope recipients (RCPT TO), lower-cased. */
  to: string[];
  from: string;
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
  raw: string;
  received_at: Date;
}

interface MimePart {
  headers: Record<string, string>;
  body: string;
}

function splitHeaders(raw: string): MimePart {
  const normalized = raw.replace(/\r\n/g, '\n');
  const end = normalized.indexOf('\n\n');
  const head = end === -1 ? normalized : normalized.slice(0, end);
  const body = end === -1 ? '' : normalized.slice(end + 2);
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body };
}

function decodeQuotedPrintable(value: string): string {
  const bytes = value
    .replace(/=\n/g, '')
    .replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

function decodeBody(part: MimePart): string {
  const encoding = (part.headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  if (encoding === 'base64') return Buffer.from(part.body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(part.body);
  return part.body;
}

/** RFC 2047 encoded words (=?UTF-8?Q?...?= / =?UTF-8?B?...?=), as nodemailer writes non-ASCII subjects. */
function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_, _charset: string, kind: string, data: string) =>
      kind.toUpperCase() === 'B'
        ? Buffer.from(data, 'base64').toString('utf8')
        : decodeQuotedPrintable(data.replace(/_/g, ' ')),
    );
}

function leafParts(part: MimePart): MimePart[] {
  const type = part.headers['content-type'] ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (!/^multipart\//i.test(type) || !boundary) return [part];
  return part.body
    .split(`--${boundary}`)
    .slice(1)
    .filter((chunk) => !chunk.startsWith('--'))
    .flatMap((chunk) => leafParts(splitHeaders(chunk.replace(/^\n/, ''))));
}

export function parseMail(raw: string, envelopeTo: string[]): ReceivedMail {
  const top = splitHeaders(raw);
  const leaves = leafParts(top);
  const body = (type: string) =>
    leaves
      .filter((p) => (p.headers['content-type'] ?? 'text/plain').toLowerCase().startsWith(type))
      .map(decodeBody)
      .join('\n');
  return {
    to: envelopeTo.map((a) => a.toLowerCase()),
    from: decodeWords(top.headers.from ?? ''),
    subject: decodeWords(top.headers.subject ?? ''),
    text: body('text/plain'),
    html: body('text/html'),
    headers: top.headers,
    raw,
    received_at: new Date(),
  };
}

export interface MailQuery {
  to?: string;
  subject?: RegExp | string;
  /** Only messages received after this many messages had arrived (see `count`). */
  after?: number;
}

/**
 * An in-process SMTP server the app under test really sends to; tests read what was delivered and take the
 * verification and reset links from the bodies, as a user would.
 */
export class SmtpSink {
  private server?: SMTPServer;
  private readonly received: ReceivedMail[] = [];
  private readonly waiters = new Set<() => void>();
  port = 0;

  async start(): Promise<number> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: false,
      size: 10 * 1024 * 1024,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('error', callback);
        stream.on('end', () => {
          const to = session.envelope.rcptTo.map((r) => r.address);
          this.received.push(parseMail(Buffer.concat(chunks).toString('utf8'), to));
          for (const wake of [...this.waiters]) wake();
          callback();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.server.address() as AddressInfo).port;
    return this.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** How many messages arrived so far; pass it as `after` to wait for a later one only. */
  get count(): number {
    return this.received.length;
  }

  messages(query: MailQuery = {}): ReceivedMail[] {
    const to = query.to?.toLowerCase();
    return this.received.slice(query.after ?? 0).filter((m) => {
      if (to && !m.to.includes(to)) return false;
      if (query.subject instanceof RegExp) return query.subject.test(m.subject);
      if (typeof query.subject === 'string') return m.subject.includes(query.subject);
      return true;
    });
  }

  /** The first message matching `query`, waiting for it to arrive (rejects after `timeoutMs`). */
  async waitFor(query: MailQuery, timeoutMs = 5000): Promise<ReceivedMail> {
    const found = this.messages(query)[0];
    if (found) return found;
    return new Promise<ReceivedMail>((resolve, reject) => {
      const check = () => {
        const match = this.messages(query)[0];
        if (!match) return;
        finish();
        resolve(match);
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no mail matching ${JSON.stringify({ ...query, subject: String(query.subject) })}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }
}

/** The `token` query parameter of the first link to `<anything>/<path>?token=...` in the message. */
export function tokenFromMail(mail: ReceivedMail, path: string): string {
  const escaped = path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const match = new RegExp(`https?://[^\\s"'<>]*${escaped}\\?token=([A-Za-z0-9_-]+)`).exec(mail.text);
  if (!match?.[1]) throw new Error(`no ${path}?token= link in mail "${mail.subject}":\n${mail.text}`);
  return match[1];
}
