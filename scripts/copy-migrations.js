// Migrations are plain .sql files (never edited once released); tsc does not copy them, so the build does.
import { cpSync } from 'node:fs';
cpSync(new URL('../src/store/migrations/', import.meta.url), new URL('../dist/store/migrations/', import.meta.url), {
  recursive: true,
});
