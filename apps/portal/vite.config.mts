import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

// `npm run build` builds the portal into apps/portal/dist; start:local serves it with the API prefixes proxied.
// `npx vite --config apps/portal/vite.config.mts` (dev) proxies them to the host-mode services (LOCAL_PORT_OFFSET).
const offset = Number(process.env.LOCAL_PORT_OFFSET ?? 0);
const prefixes = { user: 8001, tenant: 8002, instance: 8003, billing: 8004 };

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, target: 'es2022' },
  server: {
    proxy: Object.fromEntries(
      Object.entries(prefixes).map(([prefix, port]) => [
        `/${prefix}`,
        {
          target: `http://127.0.0.1:${port + offset}`,
          rewrite: (path: string) => path.slice(prefix.length + 1),
        },
      ]),
    ),
  },
});
