import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const root = resolve(__dirname, '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    // Test code (apps/<app>/test, *.spec.ts) may boot other apps; the rule is about what ships.
    if (statSync(path).isDirectory()) return ['node_modules', 'test'].includes(name) ? [] : sourceFiles(path);
    return path.endsWith('.ts') && !/\.(e2e-)?spec\.ts$/.test(path) ? [path] : [];
  });
}

function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) =>
    relative(root, resolve(dirname(file), m[1] ?? '')),
  );
}

describe('module boundaries', () => {
  it('no app imports another app, and libs never import apps', () => {
    const violations: string[] = [];
    for (const top of ['apps', 'libs']) {
      for (const owner of readdirSync(join(root, top))) {
        for (const file of sourceFiles(join(root, top, owner))) {
          for (const target of relativeImports(file)) {
            const [targetTop, targetOwner] = target.split(sep);
            const crossesApp = targetTop === 'apps' && (top === 'libs' || targetOwner !== owner);
            if (crossesApp) violations.push(`${relative(root, file)} -> ${target}`);
          }
        }
      }
    }
    expect(violations).toEqual([]);
  });
});
