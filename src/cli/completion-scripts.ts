import { flatten, type CommandInfo } from './command-tree.js';

// Shell completion scripts for bash, zsh and fish, generated from the command tree (issue #9). Each
// embeds the tree (subcommands, options, fixed values) so a TAB needs no process; values from the
// store (token names, IP entries, profiles, usernames) come from the hidden `acctsec __complete`,
// which never prompts and prints nothing but candidates.

const HEADER = 'generated from the command tree by `npm run generate`; do not edit';

interface Tables {
  subs: Map<string, string[]>;
  opts: Map<string, string[]>;
  /** Options that take a value, anywhere in the tree. */
  takes: Set<string>;
  /** Fixed values of options, by "command path|option" (the same option may differ between commands). */
  values: Map<string, string[]>;
  dynOpts: Map<string, string>;
  /** Fixed values of a command's first positional argument. */
  args: Map<string, string[]>;
  dynArgs: Map<string, string>;
}

function tables(tree: CommandInfo): Tables {
  const t: Tables = {
    subs: new Map(),
    opts: new Map(),
    takes: new Set(),
    values: new Map(),
    dynOpts: new Map(),
    args: new Map(),
    dynArgs: new Map(),
  };
  for (const c of flatten(tree)) {
    if (c.commands.length)
      t.subs.set(
        c.path,
        c.commands.map((s) => s.name),
      );
    const names = c.options.flatMap((o) => [o.long, o.short].filter((n): n is string => Boolean(n)));
    t.opts.set(c.path, [...names, '--help']);
    for (const o of c.options) {
      for (const n of [o.long, o.short]) {
        if (!n || !o.takesValue) continue;
        t.takes.add(n);
        if (o.choices.length) t.values.set(`${c.path}|${n}`, o.choices);
        if (o.dynamic) t.dynOpts.set(`${c.path}|${n}`, o.dynamic);
      }
    }
    const first = c.args[0];
    if (first?.choices.length) t.args.set(c.path, first.choices);
    if (first?.dynamic) t.dynArgs.set(c.path, first.dynamic);
  }
  return t;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function assoc(name: string, map: Map<string, string[] | string>, local: string): string {
  const entries = [...map].map(([k, v]) => `    [${q(k)}]=${q(Array.isArray(v) ? v.join(' ') : v)}`);
  return `  ${local} ${name}=(\n${entries.join('\n')}\n  )`;
}

/**
 * The body bash and zsh share: the tables, the walk over the words before the cursor (skipping options
 * and their values, noting --profile, --db and --remote for __complete), and the choice of candidates.
 * It leaves them in `list` (fixed words) or `kind` (ask `acctsec __complete KIND`).
 */
function sharedBody(tree: CommandInfo, shell: { words: string; first: number; current: string }): string {
  const t = tables(tree);
  const takes = new Map([...t.takes].map((k) => [k, '1']));
  const { words, first, current } = shell;
  return `  local cur="\${${words}[${current}]}" prev="\${${words}[${current}-1]}"
  local cmdpath=acctsec i w skip=0 kind="" list=""
  local -a ctx=()
${assoc('subs', t.subs, 'local -A')}
${assoc('opts', t.opts, 'local -A')}
${assoc('takes', takes, 'local -A')}
${assoc('values', t.values, 'local -A')}
${assoc('dynopts', t.dynOpts, 'local -A')}
${assoc('args', t.args, 'local -A')}
${assoc('dynargs', t.dynArgs, 'local -A')}
  for ((i = ${first}; i < ${current}; i++)); do
    w="\${${words}[i]}"
    if ((skip)); then skip=0; continue; fi
    case "$w" in
      --profile|--db|--remote) ((i + 1 < ${current})) && ctx+=("$w" "\${${words}[i+1]}"); skip=1 ;;
      --*=*) ;;
      -*) [[ -n "\${takes[$w]}" ]] && skip=1 ;;
      *) [[ " \${subs[$cmdpath]} " == *" $w "* ]] && cmdpath="$cmdpath $w" ;;
    esac
  done
  if [[ -n "\${takes[$prev]}" ]]; then
    list="\${values[$cmdpath|$prev]:-\${values[acctsec|$prev]}}"
    kind="\${dynopts[$cmdpath|$prev]:-\${dynopts[acctsec|$prev]}}"
  elif [[ "$cur" == -* ]]; then
    list="\${opts[$cmdpath]} \${opts[acctsec]}"
  elif [[ -n "\${subs[$cmdpath]}" ]]; then
    list="\${subs[$cmdpath]}"
  else
    list="\${args[$cmdpath]}"
    kind="\${dynargs[$cmdpath]}"
  fi`;
}

export function bashScript(tree: CommandInfo): string {
  return `# bash completion for acctsec: ${HEADER}.
# Install: acctsec completion bash > ~/.local/share/bash-completion/completions/acctsec

_acctsec() {
${sharedBody(tree, { words: 'COMP_WORDS', first: 1, current: 'COMP_CWORD' })}
  if [[ -n "$kind" ]]; then
    local IFS=$'\\n'
    COMPREPLY=($(compgen -W "$(acctsec "\${ctx[@]}" __complete "$kind" 2>/dev/null)" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$list" -- "$cur"))
  fi
}
complete -F _acctsec acctsec
`;
}

export function zshScript(tree: CommandInfo): string {
  return `#compdef acctsec
# zsh completion for acctsec: ${HEADER}.
# Install: acctsec completion zsh > "\${fpath[1]}/_acctsec" (a folder in $fpath), then restart zsh.

_acctsec() {
${sharedBody(tree, { words: 'words', first: 2, current: 'CURRENT' })}
  if [[ -n "$kind" ]]; then
    compadd -- \${(f)"$(acctsec "\${ctx[@]}" __complete "$kind" 2>/dev/null)"}
  elif [[ -n "$list" ]]; then
    compadd -- \${=list}
  fi
}

# Autoloaded from $fpath: complete now. Sourced: register (when compinit has run).
if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then
  _acctsec "$@"
elif (( $+functions[compdef] )); then
  compdef _acctsec acctsec
fi
`;
}

export function fishScript(tree: CommandInfo): string {
  const t = tables(tree);
  const cases = (map: Map<string, string[] | string>, fn: string) =>
    `function ${fn}\n    switch $argv[1]\n${[...map].map(([k, v]) => `        case ${q(k)}\n            echo ${q(Array.isArray(v) ? v.join(' ') : v)}`).join('\n')}\n    end\nend`;
  return `# fish completion for acctsec: ${HEADER}.
# Install: acctsec completion fish > ~/.config/fish/completions/acctsec.fish

${cases(t.subs, '__acctsec_subs')}

${cases(t.opts, '__acctsec_opts')}

${cases(t.values, '__acctsec_values')}

${cases(t.dynOpts, '__acctsec_dynopts')}

${cases(t.args, '__acctsec_args')}

${cases(t.dynArgs, '__acctsec_dynargs')}

set -g __acctsec_takes ${[...t.takes].map(q).join(' ')}

function __acctsec_complete
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    set -l path acctsec
    set -l ctx
    set -l skip 0
    set -l prev ''
    for i in (seq 2 (count $tokens))
        set -l w $tokens[$i]
        set prev $w
        if test $skip = 1
            set skip 0
            continue
        end
        switch $w
            case --profile --db --remote
                set skip 1
                if test $i -lt (count $tokens)
                    set ctx $ctx $w $tokens[(math $i + 1)]
                end
            case '--*=*'
            case '-*'
                if contains -- $w $__acctsec_takes
                    set skip 1
                end
            case '*'
                if contains -- $w (string split ' ' (__acctsec_subs $path))
                    set path "$path $w"
                end
        end
    end
    set -l kind ''
    set -l list ''
    if test $skip = 1
        set list (__acctsec_values "$path|$prev")
        test -z "$list"; and set list (__acctsec_values "acctsec|$prev")
        set kind (__acctsec_dynopts "$path|$prev")
        test -z "$kind"; and set kind (__acctsec_dynopts "acctsec|$prev")
    else if string match -q -- '-*' $cur
        set list (__acctsec_opts $path) (__acctsec_opts acctsec)
    else if test -n "$(__acctsec_subs $path)"
        set list (__acctsec_subs $path)
    else
        set list (__acctsec_args $path)
        set kind (__acctsec_dynargs $path)
    end
    if test -n "$kind"
        acctsec $ctx __complete $kind 2>/dev/null
    else
        string split ' ' -- $list | string match -v ''
    end
end

complete -c acctsec -f -a '(__acctsec_complete)'
`;
}
