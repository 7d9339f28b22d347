import { useId, useState, type InputHTMLAttributes, type ReactNode } from 'react';
import { errorMessage } from '../api/client';

/** A labelled input with its error (from the API envelope) right under it. */
export function Field({
  label,
  error,
  hint,
  ...input
}: { label: string; error?: string; hint?: ReactNode } & InputHTMLAttributes<HTMLInputElement>) {
  const id = useId();
  const help = `${id}-help`;
  return (
    <label htmlFor={id}>
      {label}
      <input
        id={id}
        {...input}
        aria-invalid={error ? true : undefined}
        aria-describedby={error || hint ? help : undefined}
      />
      {(error || hint) && (
        <small id={help} className={error ? 'field-error' : undefined} role={error ? 'alert' : undefined}>
          {error ?? hint}
        </small>
      )}
    </label>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p aria-busy="true" role="status">
      Loading {what}…
    </p>
  );
}

export function ErrorNote({ error, retry }: { error: unknown; retry?: () => void }) {
  return (
    <article className="error-note" role="alert">
      <strong>Something went wrong.</strong> {errorMessage(error)}
      {retry && (
        <>
          {' '}
          <button type="button" className="secondary outline small" onClick={retry}>
            Try again
          </button>
        </>
      )}
    </article>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/** A table that scrolls sideways on small screens, reachable by keyboard (the region takes focus). */
export function ScrollTable({ children }: { children: ReactNode }) {
  return (
    <div
      className="table-wrap"
      tabIndex={0}
      role="region"
      aria-label="Table (scrolls sideways on small screens)"
    >
      <table>{children}</table>
    </div>
  );
}

const TONES: Record<string, string> = {
  running: 'ok',
  active: 'ok',
  paid: 'ok',
  completed: 'ok',
  stopped: 'idle',
  terminated: 'idle',
  cancelled: 'idle',
  error: 'bad',
  failed: 'bad',
  suspended: 'bad',
  container_missing: 'bad',
};

export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`badge ${TONES[status] ?? 'busy'}`} data-status={status}>
      {status.replace(/_/g, ' ')}
    </span>
  );
}

/** A confirmation dialog; `typed` asks the user to type a word (the instance name) first. */
export function Confirm({
  title,
  body,
  confirmLabel,
  typed,
  danger,
  onConfirm,
  onClose,
}: {
  title: string;
  body: ReactNode;
  confirmLabel: string;
  typed?: string;
  danger?: boolean;
  onConfirm: () => void;
  onClose: () => void;
}) {
  const [text, setText] = useState('');
  const ready = !typed || text === typed;
  return (
    <dialog open aria-modal="true" aria-labelledby="confirm-title">
      <article>
        <h2 id="confirm-title">{title}</h2>
        <div>{body}</div>
        {typed && (
          <Field
            label={`Type ${typed} to confirm`}
            value={text}
            onChange={(e) => setText(e.target.value)}
            autoFocus
          />
        )}
        <footer>
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
          <button
            type="button"
            className={danger ? 'danger' : undefined}
            disabled={!ready}
            autoFocus={!typed}
            onClick={onConfirm}
          >
            {confirmLabel}
          </button>
        </footer>
      </article>
    </dialog>
  );
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes == null) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let n = bytes;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(n < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}

export function formatDate(value: string | null | undefined): string {
  return value ? new Date(value).toLocaleString() : '—';
}

export function money(amount: number | null | undefined, currency: string | null | undefined): string {
  if (amount == null) return 'no charge';
  return `${currency ?? 'USD'} ${amount.toFixed(2)}`;
}
