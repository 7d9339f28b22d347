/** An entry of a tiny in-memory tar archive: directories and symlinks only (what the worker writes). */
export type TarEntry =
  | { type: 'directory'; path: string; mode: number; uid: number; gid: number }
  | { type: 'symlink'; path: string; target: string; uid: number; gid: number };

const BLOCK = 512;

function field(header: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new Error(`tar: "${value}" does not fit in ${length} bytes`);
  bytes.copy(header, offset);
}

function octal(value: number, length: number): string {
  return `${value.toString(8).padStart(length - 1, '0')}\0`;
}

/** A POSIX ustar archive of `entries` (paths relative, at most 100 bytes), for Docker's archive API. */
export function tarArchive(entries: TarEntry[]): Buffer {
  const blocks = entries.map((entry) => {
    const header = Buffer.alloc(BLOCK);
    const name = entry.type === 'directory' ? `${entry.path.replace(/\/+$/, '')}/` : entry.path;
    field(header, 0, 100, name);
    field(header, 100, 8, octal(entry.type === 'directory' ? entry.mode : 0o777, 8));
    field(header, 108, 8, octal(entry.uid, 8));
    field(header, 116, 8, octal(entry.gid, 8));
    field(header, 124, 12, octal(0, 12));
    field(header, 136, 12, octal(Math.floor(Date.now() / 1000), 12));
    field(header, 148, 8, '        ');
    field(header, 156, 1, entry.type === 'directory' ? '5' : '2');
    if (entry.type === 'symlink') field(header, 157, 100, entry.target);
    field(header, 257, 6, 'ustar\0');
    field(header, 263, 2, '00');
    let sum = 0;
    for (const byte of header) sum += byte;
    field(header, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
    return header;
  });
  return Buffer.concat([...blocks, Buffer.alloc(BLOCK * 2)]);
}
