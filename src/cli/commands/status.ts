import { Command } from 'commander';
import type { Factory } from '../factory.js';
import { ago, localTime } from '../format.js';

export function newCmdStatus(f: Factory): Command {
  return new Command('status')
    .alias('whoami')
    .description('my account: password age, second factors, sessions')
    .action(() => statusRun({ f }));
}

export async function statusRun(opts: { f: Factory }): Promise<void> {
  const { f } = opts;
  const s = await (await f.backend()).status();
  if (f.globals.json) {
    f.io.json(s);
    return;
  }
  const c = f.io.color;
  const rotation = s.passwordRotationDue
    ? c.yellow(`rotation due since ${localTime(s.passwordRotationDueAt)}: run \`acctsec password change\``)
    : `next rotation recommended ${localTime(s.passwordRotationDueAt).slice(0, 10)}`;
  const mfa = s.mfa.methods.filter((m) => m.enabled);
  f.io.out(`${c.bold(s.username)} <${s.email}>  role ${s.role}`);
  f.io.out(`Password   changed ${localTime(s.passwordChangedAt)} (${ago(s.passwordChangedAt)}); ${rotation}`);
  f.io.out(
    `MFA        ${mfa.length ? mfa.map((m) => `${m.type} since ${localTime(m.enabledAt ?? '')}`).join(', ') : c.yellow('none: the password is the only factor')}`,
  );
  f.io.out(`IP         ${s.ipAllowList.length ? s.ipAllowList.map((e) => e.cidr).join(', ') : 'no restriction'}`);
  f.io.out(
    `Tokens     ${s.tokens.active} active${s.tokens.expiringSoon.length ? `, ${s.tokens.expiringSoon.length} expiring within 7 days` : ''}${s.legacyApiKey ? '; a deprecated API key' : ''}`,
  );
  if (s.mfa.recoveryCodesLeft !== null)
    f.io.out(`Recovery   ${s.mfa.recoveryCodesLeft} code${s.mfa.recoveryCodesLeft === 1 ? '' : 's'} left`);
  // Issue #20 §2: the repair window of a recovery-code sign-in, while it is open.
  if (s.repairWindowUntil)
    f.io.out(
      `Repair     window open until ${localTime(s.repairWindowUntil)}: second factors may be turned off and enrolled without a code from the lost one`,
    );
  const current = s.sessions.find((x) => x.current);
  f.io.out(`Sessions   ${s.sessions.length} active${current ? ` (this one: ${current.id})` : ''}`);
  for (const n of s.notices) f.io.warn(n);
}
