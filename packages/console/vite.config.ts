import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The console is served by the Gatehouse server under /admin/ with a strict Content-Security-Policy
 * (`script-src 'self'; style-src 'self'`), so the built index.html must not carry inline scripts or
 * styles: CSS is emitted as a file and the module preload polyfill (an inline script) is off.
 */
export default defineConfig({
  base: '/admin/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    // Keep every asset a file under /admin/assets/ rather than a data: URI in a script or style.
    assetsInlineLimit: 0,
    // React, react-router, TanStack Query and the redirect policy with its Public Suffix List
    // (tldts): one ~715 kB chunk, ~250 kB gzipped, loaded once per console visit.
    chunkSizeWarningLimit: 800,
  },
  server: {
    // `npm run dev -w @gatehouse/console` next to `gatehouse serve`: the API calls go to the server.
    proxy: {
      '/admin/api': process.env['GATEHOUSE_URL'] ?? 'http://127.0.0.1:4000',
    },
  },
});
