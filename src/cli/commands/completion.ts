import { Argument, Command } from 'commander';
import type { Factory } from '../factory.js';

export function newCmdCompletion(f: Factory): Command {
  return new Command('completion')
    .description('print the shell completion script for bash, zsh or fish')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(['bash', 'zsh', 'fish']))
    .addHelpText(
      'after',
      '\nInstall:\n' +
        '  bash  acctsec completion bash > ~/.local/share/bash-completion/completions/acctsec\n' +
        '  zsh   acctsec completion zsh > "${fpath[1]}/_acctsec"   (then restart zsh)\n' +
        '  fish  acctsec completion fish > ~/.config/fish/completions/acctsec.fish',
    )
    .action(async (shell: 'bash' | 'zsh' | 'fish', _o: unknown, cmd: Command) => {
      let root = cmd;
      while (root.parent) root = root.parent;
      const [{ describeTree }, scripts] = await Promise.all([
        import('../command-tree.js'),
        import('../completion-scripts.js'),
      ]);
      const tree = describeTree(root);
      f.io.out(
        (shell === 'bash'
          ? scripts.bashScript(tree)
          : shell === 'zsh'
            ? scripts.zshScript(tree)
            : scripts.fishScript(tree)
        ).trimEnd(),
      );
    });
}

/**
 * `acctsec __complete KIND`: candidates from the store for the completion scripts, one per line.
 * Never prompts, and prints nothing at all when anything goes wrong (no session, no database...):
 * a shell's completion is no place for error messages.
 */
export function newCmdComplete(f: Factory): Command {
  return new Command('__complete').argument('<kind>').action(async (kind: string) => {
    try {
      for (const value of await candidates(f, kind)) f.io.out(value);
    } catch {
      // nothing to offer
    }
  });
}

async function candidates(f: Factory, kind: string): Promise<string[]> {
  if (kind === 'profiles') return (await f.profiles()).profileNames();
  const backend = await f.backend();
  switch (kind) {
    case 'tokens':
      return (await backend.listTokens()).filter((t) => t.state === 'active').flatMap((t) => [t.name, t.id]);
    case 'ip':
      return (await backend.listIp()).map((e) => e.cidr);
    case 'recovery-emails':
      return (await backend.listRecoveryEmails()).map((r) => r.address);
    case 'sessions':
      return (await backend.listSessions()).filter((s) => !s.current).map((s) => s.id);
    case 'users': {
      // Only staff may list accounts; asking as a plain user would only add a refusal to the audit log.
      if ((await backend.status()).role === 'user') return [];
      const names: string[] = [];
      for await (const u of backend.adminListUsers()) {
        names.push(u.username);
        if (names.length >= 1000) break;
      }
      return names;
    }
    default:
      return [];
  }
}
