import { Argument, Command } from 'commander';
import type { NotificationSettings } from '../../views.js';
import type { Factory } from '../factory.js';

export function newCmdNotifications(f: Factory): Command {
  const cmd = new Command('notifications')
    .description('email format, newsletters and organization notices (security notices are always sent)')
    .action(() => notificationsShowRun({ f }));
  cmd
    .command('show')
    .description('the current preferences')
    .action(() => notificationsShowRun({ f }));
  cmd
    .command('format')
    .description('html (with a plain-text alternative) or text (plain text only)')
    .addArgument(new Argument('<format>', 'html (with a plain-text alternative) or text').choices(['html', 'text']))
    .action((format: string) => notificationsChange(f, (b) => b.setNotificationFormat(format)));
  cmd
    .command('subscribe')
    .description('subscribe to newsletters (see `notifications show` for the lists)')
    .argument('<list...>')
    .action((lists: string[]) => notificationsChange(f, (b) => b.setNewsletters(lists, true)));
  cmd
    .command('unsubscribe')
    .description('unsubscribe from newsletters')
    .argument('<list...>')
    .action((lists: string[]) => notificationsChange(f, (b) => b.setNewsletters(lists, false)));
  cmd
    .command('org')
    .description('notices about an organization you belong to: on or off')
    .argument('<org>')
    .addArgument(new Argument('<state>', 'on or off').choices(['on', 'off']))
    .action((org: string, state: string) => {
      return notificationsChange(f, (b) => b.setOrganizationNotifications(org, state === 'on'));
    });
  return cmd;
}

function render(f: Factory, s: NotificationSettings): void {
  if (f.globals.json) {
    f.io.json(s);
    return;
  }
  f.io.out(`Format         ${s.format === 'html' ? 'html (with a plain-text alternative)' : 'text (plain text only)'}`);
  f.io.out(`Security       always on: ${s.alwaysOn.join(', ')}`);
  f.io.out(
    `Newsletters    ${
      Object.entries(s.newsletters)
        .map(([n, on]) => `${n} ${on ? 'on' : 'off'}`)
        .join(', ') || '-'
    }`,
  );
  f.io.out(
    `Organizations  ${
      Object.entries(s.organizations)
        .map(([n, on]) => `${n} ${on ? 'on' : 'off'}`)
        .join(', ') || '-'
    }`,
  );
}

export async function notificationsShowRun(opts: { f: Factory }): Promise<void> {
  render(opts.f, await (await opts.f.backend()).notificationSettings());
}

async function notificationsChange(
  f: Factory,
  change: (b: Awaited<ReturnType<Factory['backend']>>) => Promise<NotificationSettings>,
): Promise<void> {
  render(f, await change(await f.backend()));
}
