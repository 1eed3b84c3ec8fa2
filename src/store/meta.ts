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

/** Sets the value only if the key has none; returns the value the key holds afterwards (the first writer's). */
export function setMetaOnce(db: Db, key: string, value: string): string {
  sql(db, 'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING').run(key, value);
  return getMeta(db, key) ?? value;
}

export function deleteMeta(db: Db, key: string): void {
  sql(db, 'DELETE FROM meta WHERE key = ?').run(key);
}
