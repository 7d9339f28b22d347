/**
 * Jest transform for ESM-only packages under node_modules (NestJS 12 and friends): Babel rewrites them to
 * CommonJS. Modules that build their own `require` with createRequire(import.meta.url) get Jest's module
 * `require` instead, which is what that line produces under Node anyway.
 */
const babelJest = require('babel-jest').default;

const babel = babelJest.createTransformer({
  babelrc: false,
  configFile: false,
  plugins: [
    'babel-plugin-transform-import-meta',
    '@babel/plugin-transform-dynamic-import',
    '@babel/plugin-transform-modules-commonjs',
  ],
});

const OWN_REQUIRE = /^\s*const require = createRequire\(import\.meta\.url\);?\s*$/gm;

module.exports = {
  ...babel,
  getCacheKey(source, path, options) {
    return babel.getCacheKey(source.replace(OWN_REQUIRE, ''), path, options) + ':own-require-v2';
  },
  process(source, path, options) {
    return babel.process(source.replace(OWN_REQUIRE, ''), path, options);
  },
};
