import { chmodSync, closeSync, openSync, renameSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Factory } from './factory.js';

/**
 * Saves recovery codes as a text file, mode 0600 from its first byte, with the account and the date
 * (SPEC §5). Written beside the target and renamed over it, so a reader never sees half a file.
 */
export function writeRecoveryCodesFile(path: string, username: string, codes: string[], now = new Date()): string {
  const target = resolve(path);
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  const text = [
    `acctsec recovery codes for ${username}`,
    `Generated ${now.toISOString().slice(0, 16).replace('T', ' ')} UTC. Each code works once; a new set voids this one.`,
    'Keep this file somewhere safe, away from the device with your authenticator app.',
    '',
    ...codes,
    '',
  ].join('\n');
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  chmodSync(temp, 0o600);
  renameSync(temp, target);
  return target;
}

/** Shows a new set of recovery codes once, and saves them to `file` (or offers to, at a prompt). */
export async function showRecoveryCodes(
  f: Factory,
  username: string,
  codes: string[],
  file: string | undefined,
  offer: boolean,
): Promise<void> {
  f.io.out('');
  f.io.out('Recovery codes (each works once, in place of a code from the app). They are not shown again');
  f.io.out('without a fresh authenticator code, so save them now:');
  for (const c of codes) f.io.out(`  ${c}`);
  let path = file;
  if (!path && offer && (await f.prompter.confirm('Save them to a text file?', '--recovery-codes-file', true))) {
    path = await f.prompter.text('File:', '--recovery-codes-file', { default: 'acctsec-recovery-codes.txt' });
  }
  if (path) f.io.note(`Saved to ${writeRecoveryCodesFile(path, username, codes)} (mode 0600).`);
}
