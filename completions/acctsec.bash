# bash completion for acctsec: generated from the command tree by `npm run generate`; do not edit.
# Install: acctsec completion bash > ~/.local/share/bash-completion/completions/acctsec

_acctsec() {
  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
  local cmdpath=acctsec i w skip=0 kind="" list=""
  local -a ctx=()
  local -A subs=(
    ['acctsec']='init login logout status sessions password username activity mfa recovery-codes ip recovery recover notifications token apikey admin serve config completion'
    ['acctsec sessions']='list revoke'
    ['acctsec password']='change'
    ['acctsec username']='change'
    ['acctsec mfa']='status totp email key'
    ['acctsec mfa totp']='enable confirm disable'
    ['acctsec mfa email']='enable confirm resend disable'
    ['acctsec mfa key']='add list rename remove'
    ['acctsec recovery-codes']='view regenerate'
    ['acctsec ip']='list add remove set clear check'
    ['acctsec recovery']='email'
    ['acctsec recovery email']='add confirm list remove'
    ['acctsec notifications']='show format subscribe unsubscribe org'
    ['acctsec token']='scopes create list revoke rotate verify inspect'
    ['acctsec apikey']='show generate delete migrate'
    ['acctsec admin']='users reset-password reset-mfa lock unlock unthrottle sessions ip audit'
    ['acctsec admin users']='list show create set-role'
    ['acctsec admin sessions']='revoke'
    ['acctsec admin ip']='show clear'
    ['acctsec admin audit']='verify head'
    ['acctsec config']='get set unset list path reset'
  )
  local -A opts=(
    ['acctsec']='--version -V --json --no-input --yes -y --profile --db --no-color --quiet -q --remote --insecure-http --help'
    ['acctsec init']='--username --email --password-stdin --bootstrap-secret-file --help'
    ['acctsec login']='--username --method --code --send-code --password-stdin --no-open --timeout --help'
    ['acctsec logout']='--help'
    ['acctsec status']='--help'
    ['acctsec sessions']='--help'
    ['acctsec sessions list']='--help'
    ['acctsec sessions revoke']='--others --password-stdin --method --code --send-code --help'
    ['acctsec password']='--help'
    ['acctsec password change']='--password-stdin --help'
    ['acctsec username']='--help'
    ['acctsec username change']='--password-stdin --method --code --send-code --help'
    ['acctsec activity']='--limit --help'
    ['acctsec mfa']='--help'
    ['acctsec mfa status']='--help'
    ['acctsec mfa totp']='--help'
    ['acctsec mfa totp enable']='--qr --recovery-codes-file --password-stdin --method --code --send-code --help'
    ['acctsec mfa totp confirm']='--code --recovery-codes-file --help'
    ['acctsec mfa totp disable']='--code --help'
    ['acctsec mfa email']='--help'
    ['acctsec mfa email enable']='--password-stdin --method --code --send-code --help'
    ['acctsec mfa email confirm']='--code --help'
    ['acctsec mfa email resend']='--help'
    ['acctsec mfa email disable']='--send-code --code --help'
    ['acctsec mfa key']='--help'
    ['acctsec mfa key add']='--name --recovery-codes-file --password-stdin --method --code --send-code --no-open --timeout --help'
    ['acctsec mfa key list']='--help'
    ['acctsec mfa key rename']='--help'
    ['acctsec mfa key remove']='--method --code --send-code --no-open --timeout --help'
    ['acctsec recovery-codes']='--help'
    ['acctsec recovery-codes view']='--code --method --no-open --timeout --help'
    ['acctsec recovery-codes regenerate']='--output --code --method --no-open --timeout --help'
    ['acctsec ip']='--help'
    ['acctsec ip list']='--plain --help'
    ['acctsec ip add']='--file -f --allow-private --force --current-ip --password-stdin --method --code --send-code --help'
    ['acctsec ip remove']='--allow-private --force --current-ip --password-stdin --method --code --send-code --help'
    ['acctsec ip set']='--file -f --allow-private --force --current-ip --password-stdin --method --code --send-code --help'
    ['acctsec ip clear']='--password-stdin --method --code --send-code --help'
    ['acctsec ip check']='--help'
    ['acctsec recovery']='--help'
    ['acctsec recovery email']='--help'
    ['acctsec recovery email add']='--password-stdin --method --code --send-code --help'
    ['acctsec recovery email confirm']='--code --help'
    ['acctsec recovery email list']='--help'
    ['acctsec recovery email remove']='--password-stdin --method --code --send-code --help'
    ['acctsec recover']='--username --send-code --code --token --method --password-stdin --no-open --timeout --help'
    ['acctsec notifications']='--help'
    ['acctsec notifications show']='--help'
    ['acctsec notifications format']='--help'
    ['acctsec notifications subscribe']='--help'
    ['acctsec notifications unsubscribe']='--help'
    ['acctsec notifications org']='--help'
    ['acctsec token']='--help'
    ['acctsec token scopes']='--help'
    ['acctsec token create']='--name --scope --resource --expires --password-stdin --method --code --send-code --help'
    ['acctsec token list']='--help'
    ['acctsec token revoke']='--password-stdin --method --code --send-code --help'
    ['acctsec token rotate']='--password-stdin --method --code --send-code --help'
    ['acctsec token verify']='--ip --help'
    ['acctsec token inspect']='--help'
    ['acctsec apikey']='--help'
    ['acctsec apikey show']='--help'
    ['acctsec apikey generate']='--password-stdin --method --code --send-code --help'
    ['acctsec apikey delete']='--password-stdin --method --code --send-code --help'
    ['acctsec apikey migrate']='--name --expires --password-stdin --method --code --send-code --help'
    ['acctsec admin']='--help'
    ['acctsec admin users']='--help'
    ['acctsec admin users list']='--role --help'
    ['acctsec admin users show']='--help'
    ['acctsec admin users create']='--email --role --print-token --reason --help'
    ['acctsec admin users set-role']='--reason --dry-run --help'
    ['acctsec admin reset-password']='--print-token --reason --dry-run --help'
    ['acctsec admin reset-mfa']='--reason --dry-run --help'
    ['acctsec admin lock']='--reason --dry-run --help'
    ['acctsec admin unlock']='--reason --dry-run --help'
    ['acctsec admin unthrottle']='--reason --dry-run --help'
    ['acctsec admin sessions']='--help'
    ['acctsec admin sessions revoke']='--reason --dry-run --help'
    ['acctsec admin ip']='--help'
    ['acctsec admin ip show']='--help'
    ['acctsec admin ip clear']='--reason --dry-run --help'
    ['acctsec admin audit']='--user --actor --since --limit --help'
    ['acctsec admin audit verify']='--head --help'
    ['acctsec admin audit head']='--help'
    ['acctsec serve']='--listen --tls-cert --tls-key --public-url --trust-proxy --introspection-rate --create --help'
    ['acctsec config']='--help'
    ['acctsec config get']='--help'
    ['acctsec config set']='--help'
    ['acctsec config unset']='--help'
    ['acctsec config list']='--help'
    ['acctsec config path']='--help'
    ['acctsec config reset']='--all --help'
    ['acctsec completion']='--help'
  )
  local -A takes=(
    ['--profile']='1'
    ['--db']='1'
    ['--remote']='1'
    ['--username']='1'
    ['--email']='1'
    ['--bootstrap-secret-file']='1'
    ['--method']='1'
    ['--code']='1'
    ['--timeout']='1'
    ['--limit']='1'
    ['--qr']='1'
    ['--recovery-codes-file']='1'
    ['--name']='1'
    ['--output']='1'
    ['--file']='1'
    ['-f']='1'
    ['--current-ip']='1'
    ['--token']='1'
    ['--scope']='1'
    ['--resource']='1'
    ['--expires']='1'
    ['--ip']='1'
    ['--role']='1'
    ['--reason']='1'
    ['--user']='1'
    ['--actor']='1'
    ['--since']='1'
    ['--head']='1'
    ['--listen']='1'
    ['--tls-cert']='1'
    ['--tls-key']='1'
    ['--public-url']='1'
    ['--trust-proxy']='1'
    ['--introspection-rate']='1'
  )
  local -A values=(
    ['acctsec login|--method']='totp email key recovery'
    ['acctsec sessions revoke|--method']='totp email key'
    ['acctsec username change|--method']='totp email key'
    ['acctsec mfa totp enable|--qr']='utf8 none'
    ['acctsec mfa totp enable|--method']='totp email key'
    ['acctsec mfa email enable|--method']='totp email key'
    ['acctsec mfa key add|--method']='totp email key'
    ['acctsec mfa key remove|--method']='totp email key'
    ['acctsec recovery-codes view|--method']='totp key'
    ['acctsec recovery-codes regenerate|--method']='totp key'
    ['acctsec ip add|--method']='totp email key'
    ['acctsec ip remove|--method']='totp email key'
    ['acctsec ip set|--method']='totp email key'
    ['acctsec ip clear|--method']='totp email key'
    ['acctsec recovery email add|--method']='totp email key'
    ['acctsec recovery email remove|--method']='totp email key'
    ['acctsec recover|--method']='email key'
    ['acctsec token create|--method']='totp email key'
    ['acctsec token revoke|--method']='totp email key'
    ['acctsec token rotate|--method']='totp email key'
    ['acctsec apikey generate|--method']='totp email key'
    ['acctsec apikey delete|--method']='totp email key'
    ['acctsec apikey migrate|--method']='totp email key'
    ['acctsec admin users list|--role']='user support admin'
    ['acctsec admin users create|--role']='user support admin'
  )
  local -A dynopts=(
    ['acctsec|--profile']='profiles'
    ['acctsec admin audit|--user']='users'
    ['acctsec admin audit|--actor']='users'
  )
  local -A args=(
    ['acctsec notifications format']='html text'
    ['acctsec completion']='bash zsh fish'
  )
  local -A dynargs=(
    ['acctsec sessions revoke']='sessions'
    ['acctsec ip remove']='ip'
    ['acctsec recovery email confirm']='recovery-emails'
    ['acctsec recovery email remove']='recovery-emails'
    ['acctsec token revoke']='tokens'
    ['acctsec token rotate']='tokens'
    ['acctsec admin users show']='users'
    ['acctsec admin users set-role']='users'
    ['acctsec admin reset-password']='users'
    ['acctsec admin reset-mfa']='users'
    ['acctsec admin lock']='users'
    ['acctsec admin unlock']='users'
    ['acctsec admin sessions revoke']='users'
    ['acctsec admin ip show']='users'
    ['acctsec admin ip clear']='users'
  )
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="${COMP_WORDS[i]}"
    if ((skip)); then skip=0; continue; fi
    case "$w" in
      --profile|--db|--remote) ((i + 1 < COMP_CWORD)) && ctx+=("$w" "${COMP_WORDS[i+1]}"); skip=1 ;;
      --*=*) ;;
      -*) [[ -n "${takes[$w]}" ]] && skip=1 ;;
      *) [[ " ${subs[$cmdpath]} " == *" $w "* ]] && cmdpath="$cmdpath $w" ;;
    esac
  done
  if [[ -n "${takes[$prev]}" ]]; then
    list="${values[$cmdpath|$prev]:-${values[acctsec|$prev]}}"
    kind="${dynopts[$cmdpath|$prev]:-${dynopts[acctsec|$prev]}}"
  elif [[ "$cur" == -* ]]; then
    list="${opts[$cmdpath]} ${opts[acctsec]}"
  elif [[ -n "${subs[$cmdpath]}" ]]; then
    list="${subs[$cmdpath]}"
  else
    list="${args[$cmdpath]}"
    kind="${dynargs[$cmdpath]}"
  fi
  if [[ -n "$kind" ]]; then
    local IFS=$'\n'
    COMPREPLY=($(compgen -W "$(acctsec "${ctx[@]}" __complete "$kind" 2>/dev/null)" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$list" -- "$cur"))
  fi
}
complete -F _acctsec acctsec
