import { describe, expect, it } from 'vitest';
import { openStore, sql } from '../../src/store/db.js';
import { translate } from '../../src/store/pg.js';
import { freshSchema, PG_TEST_URL } from '../pg.js';

describe('placeholders', () => {
  it('? and @name become $n outside quotes and comments', () => {
    expect(translate("SELECT '?', a FROM t WHERE b = ? AND c = ? -- why?\n").text).toBe(
      "SELECT '?', a FROM t WHERE b = $1 AND c = $2 -- why?\n",
    );
    const t = translate('UPDATE t SET a = @a, b = @b WHERE a = @a');
    expect(t.text).toBe('UPDATE t SET a = $1, b = $2 WHERE a = $1');
    expect(t.names).toEqual(['a', 'b']);
    expect(t.reads).toBe(false);
    expect(translate('SELECT 1').reads).toBe(true);
  });
});

describe.runIf(PG_TEST_URL)('PostgreSQL adapter', () => {
  it('migrates an empty schema and reads as SQLite does', () => {
    const s = freshSchema();
    try {
      const db = openStore(s.url, { create: true });
      expect(sql(db, 'SELECT n FROM change_generation WHERE id = 1').pluck().get()).toBeTypeOf('number');
      expect(db.pragma('user_version', { simple: true })).toBeGreaterThanOrEqual(18);
      db.close();
    } finally {
      s.drop();
    }
  });
});
