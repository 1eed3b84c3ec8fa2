// Bundled by bench/token-verify.bench.js: the service layer's token check over a temp database.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMailer, DEFAULT_FROM } from '../../src/mail/mailer.js';
import { initialize } from '../../src/service/accounts.js';
import { createBackground } from '../../src/service/background.js';
import type { ServiceContext } from '../../src/service/context.js';
import { FACTORS } from '../../src/service/factors.js';
import { argon2Hasher } from '../../src/service/password-hashing.js';
import { defaultPolicy } from '../../src/service/policy.js';
import { hashSecret, verifyToken } from '../../src/service/tokens.js';
import { openStore } from '../../src/store/db.js';
import { insertToken } from '../../src/store/tokens.js';
import { newSecret } from '../../src/token-format.js';

export async function measure(count: number, seconds: number): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'acctsec-bench-'));
  const key = randomBytes(32);
  const ctx: ServiceContext = {
    db: openStore(join(dir, 'bench.db'), { create: true }),
    now: Date.now,
    policy: { ...defaultPolicy },
    hasher: argon2Hasher(),
    keyring: { key: () => key },
    mailer: createMailer({ from: DEFAULT_FROM, outboxDir: join(dir, 'outbox') }),
    background: createBackground(() => undefined),
    factors: FACTORS,
  };
  try {
    const { account } = await initialize(
      ctx,
      { username: 'bench', email: 'bench@example.com', password: 'measured passphrase 42' },
      {},
    );
    const tokens: string[] = [];
    const now = Date.now();
    ctx.db.transaction(() => {
      for (let i = 0; i < count; i++) {
        const token = newSecret('token');
        if (i % 97 === 0) tokens.push(token);
        insertToken(ctx.db, {
          id: `tok_${i.toString(16).padStart(10, '0')}`,
          account_id: account.id,
          kind: 'token',
          name: `t${i}`,
          token_hash: hashSecret(token),
          scopes: '["dns:read"]',
          resources: '[]',
          created_at: now,
          expires_at: now + 30 * 86_400_000,
        });
      }
    })();
    // Baseline in the same process: the bare indexed lookup the check is built on.
    const lookup = ctx.db.prepare('SELECT * FROM tokens WHERE token_hash = ?');
    const run = (fn: (t: string) => unknown) => {
      let n = 0;
      const end = performance.now() + seconds * 1000;
      while (performance.now() < end) {
        for (let i = 0; i < 100; i++) fn(tokens[(n + i) % tokens.length]!);
        n += 100;
      }
      return n / seconds;
    };
    for (const t of tokens.slice(0, 50)) verifyToken(ctx, t); // warm up, and record first use
    const base = run((t) => lookup.get(hashSecret(t)));
    const full = run((t) => {
      if (!verifyToken(ctx, t).active) throw new Error('a stored token verified inactive');
    });
    const bad = run((t) => verifyToken(ctx, `${t.slice(0, -1)}x`));
    return [
      `tokens stored                  ${count.toLocaleString('en')}`,
      `baseline: hash + index lookup  ${Math.round(base).toLocaleString('en')}/s`,
      `token verify (full check)      ${Math.round(full).toLocaleString('en')}/s   (${(full / base).toFixed(2)}x of baseline; target >= 20,000/s)`,
      `malformed (checksum, no query) ${Math.round(bad).toLocaleString('en')}/s`,
    ];
  } finally {
    ctx.db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
