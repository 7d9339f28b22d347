/**
 * Tests run in CommonJS. NestJS 12 and several dependencies ship only ES modules, and Jest on Node 20 cannot
 * require() them (Node itself can, which is what the built apps rely on), so every package that declares
 * "type": "module" is converted to CommonJS by Babel on first load. Jest caches the result.
 */
const fs = require('node:fs');
const path = require('node:path');
const { pathsToModuleNameMapper } = require('ts-jest');
const { compilerOptions } = require('./tsconfig.json');

function esmPackages(root) {
  const found = [];
  const visit = (dir, prefix) => {
    for (const entry of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      if (entry.startsWith('.')) continue;
      if (entry.startsWith('@') && !prefix) {
        visit(path.join(dir, entry), `${entry}/`);
        continue;
      }
      try {
        const pkg = JSON.parse(fs.readFileSync(path.join(dir, entry, 'package.json'), 'utf8'));
        if (pkg.type === 'module') found.push(`${prefix}${entry}`);
      } catch {
        /* not a package */
      }
    }
  };
  visit(root, '');
  return found.map((name) => name.replace(/[.+]/g, '\\$&'));
}

module.exports = {
  testEnvironment: 'node',
  rootDir: '.',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/test'],
  testRegex: '.*\\.(spec|e2e-spec)\\.ts$',
  moduleFileExtensions: ['js', 'mjs', 'cjs', 'json', 'ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', {}],
    '^.+\\.m?js$': '<rootDir>/test/support/esm-to-cjs.transformer.js',
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages(path.join(__dirname, 'node_modules')).join('|')})/)`],
  moduleNameMapper: pathsToModuleNameMapper(compilerOptions.paths, { prefix: '<rootDir>/' }),
  testTimeout: 60000,
  maxWorkers: 1,
};
