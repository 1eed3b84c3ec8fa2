import { sql, type Db } from './db.js';

export function getMeta(db: Db, key: string): string | undefined {
  return (sql(db, 'SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
}

export function setMeta(db: Db, key: string, value: string): void {
  sql(db, 'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(
    key,
    value,
  );
}

export function deleteMeta(db: Db, key: string): void {
  sql(db, 'DELETE FROM meta WHERE key = ?').run(key);
}
