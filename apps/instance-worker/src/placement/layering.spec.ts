import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/*
 * The worker reads top-down: lifecycle/ (engine-neutral) → placement/placement-backend.ts (the port) →
 * placement/docker | placement/swarm (the engines). Only placement/ may know Docker's API.
 */
const src = resolve(__dirname, '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !/\.(e2e-)?spec\.ts$/.test(path) ? [path] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => {
    const target = m[1] ?? '';
    return target.startsWith('.')
      ? relative(src, resolve(dirname(file), target))
          .split(sep)
          .join('/')
      : target;
  });
}

describe('placement layering', () => {
  const outsidePlacement = sourceFiles(src).filter(
    (file) => !relative(src, file).split(sep).join('/').startsWith('placement/'),
  );

  it('finds the worker sources it checks', () => {
    expect(outsidePlacement.some((f) => f.includes(`${sep}lifecycle${sep}`))).toBe(true);
  });

  it('no dockerode type or import above placement/', () => {
    const violations = outsidePlacement.flatMap((file) =>
      imports(file)
        .filter((target) => target === 'dockerode' || target.startsWith('docker-modem'))
        .map((target) => `${relative(src, file)} -> ${target}`),
    );
    expect(violations).toEqual([]);
  });

  it('lifecycle/ never reaches into an engine (placement/docker, placement/swarm)', () => {
    const violations = outsidePlacement
      .filter((file) => !file.endsWith(`${sep}placement.module.ts`))
      .flatMap((file) =>
        imports(file)
          .filter((target) => /^placement\/(docker|swarm)\//.test(target))
          .map((target) => `${relative(src, file)} -> ${target}`),
      );
    expect(violations).toEqual([]);
  });

  it('placement/ never imports lifecycle/ (the port does not know its callers)', () => {
    const placementFiles = sourceFiles(join(src, 'placement'));
    const violations = placementFiles.flatMap((file) =>
      imports(file)
        .filter((target) => target.startsWith('lifecycle/'))
        .map((target) => `${relative(src, file)} -> ${target}`),
    );
    expect(violations).toEqual([]);
  });
});
