# fish completion for acctsec: generated from the command tree by `npm run generate`; do not edit.
# Install: acctsec completion fish > ~/.config/fish/completions/acctsec.fish

function __acctsec_subs
    switch $argv[1]
        case 'acctsec'
            echo 'init login logout status sessions password username activity mfa recovery-codes ip recovery recover notifications token apikey admin serve config completion'
        case 'acctsec sessions'
            echo 'list revoke'
        case 'acctsec password'
            echo 'change'
        case 'acctsec username'
            echo 'change'
        case 'acctsec mfa'
            echo 'status totp email key'
        case 'acctsec mfa totp'
            echo 'enable confirm disable'
        case 'acctsec mfa email'
            echo 'enable confirm resend disable'
        case 'acctsec mfa key'
            echo 'add list rename remove'
        case 'acctsec recovery-codes'
            echo 'view regenerate'
        case 'acctsec ip'
            echo 'list add remove set clear check'
        case 'acctsec recovery'
            echo 'email'
        case 'acctsec recovery email'
            echo 'add confirm list remove'
        case 'acctsec notifications'
            echo 'show format subscribe unsubscribe org'
        case 'acctsec token'
            echo 'scopes create list revoke rotate verify inspect'
        case 'acctsec apikey'
            echo 'show generate delete migrate'
        case 'acctsec admin'
            echo 'users reset-password reset-mfa lock unlock unthrottle sessions audit'
        case 'acctsec admin users'
            echo 'list show create set-role'
        case 'acctsec admin sessions'
            echo 'revoke'
        case 'acctsec admin audit'
            echo 'verify'
        case 'acctsec config'
            echo 'get set unset list path'
    end
end

function __acctsec_opts
    switch $argv[1]
        case 'acctsec'
            echo '--version -V --json --no-input --yes -y --profile --db --no-color --quiet -q --remote --insecure-http --help'
        case 'acctsec init'
            echo '--username --email --password-stdin --bootstrap-secret-file --help'
        case 'acctsec login'
            echo '--username --method --code --send-code --password-stdin --no-open --timeout --help'
        case 'acctsec logout'
            echo '--help'
        case 'acctsec status'
            echo '--help'
        case 'acctsec sessions'
            echo '--help'
        case 'acctsec sessions list'
            echo '--help'
        case 'acctsec sessions revoke'
            echo '--others --password-stdin --method --code --send-code --help'
        case 'acctsec password'
            echo '--help'
        case 'acctsec password change'
            echo '--password-stdin --help'
        case 'acctsec username'
            echo '--help'
        case 'acctsec username change'
            echo '--password-stdin --method --code --send-code --help'
        case 'acctsec activity'
            echo '--limit --help'
        case 'acctsec mfa'
            echo '--help'
        case 'acctsec mfa status'
            echo '--help'
        case 'acctsec mfa totp'
            echo '--help'
        case 'acctsec mfa totp enable'
            echo '--qr --recovery-codes-file --password-stdin --method --code --send-code --help'
        case 'acctsec mfa totp confirm'
            echo '--code --recovery-codes-file --help'
        case 'acctsec mfa totp disable'
            echo '--code --help'
        case 'acctsec mfa email'
            echo '--help'
        case 'acctsec mfa email enable'
            echo '--password-stdin --method --code --send-code --help'
        case 'acctsec mfa email confirm'
            echo '--code --help'
        case 'acctsec mfa email resend'
            echo '--help'
        case 'acctsec mfa email disable'
            echo '--send-code --code --help'
        case 'acctsec mfa key'
            echo '--help'
        case 'acctsec mfa key add'
            echo '--name --recovery-codes-file --password-stdin --method --code --send-code --no-open --timeout --help'
        case 'acctsec mfa key list'
            echo '--help'
        case 'acctsec mfa key rename'
            echo '--help'
        case 'acctsec mfa key remove'
            echo '--method --code --send-code --no-open --timeout --help'
        case 'acctsec recovery-codes'
            echo '--help'
        case 'acctsec recovery-codes view'
            echo '--code --method --no-open --timeout --help'
        case 'acctsec recovery-codes regenerate'
            echo '--output --code --method --no-open --timeout --help'
        case 'acctsec ip'
            echo '--help'
        case 'acctsec ip list'
            echo '--plain --help'
        case 'acctsec ip add'
            echo '--file -f --allow-private --force --current-ip --password-stdin --method --code --send-code --help'
        case 'acctsec ip remove'
            echo '--allow-private --force --current-ip --password-stdin --method --code --send-code --help'
        case 'acctsec ip set'
            echo '--file -f --allow-private --force --current-ip --password-stdin --method --code --send-code --help'
        case 'acctsec ip clear'
            echo '--password-stdin --method --code --send-code --help'
        case 'acctsec ip check'
            echo '--help'
        case 'acctsec recovery'
            echo '--help'
        case 'acctsec recovery email'
            echo '--help'
        case 'acctsec recovery email add'
            echo '--password-stdin --method --code --send-code --help'
        case 'acctsec recovery email confirm'
            echo '--code --help'
        case 'acctsec recovery email list'
            echo '--help'
        case 'acctsec recovery email remove'
            echo '--password-stdin --method --code --send-code --help'
        case 'acctsec recover'
            echo '--username --send-code --code --token --method --password-stdin --no-open --timeout --help'
        case 'acctsec notifications'
            echo '--help'
        case 'acctsec notifications show'
            echo '--help'
        case 'acctsec notifications format'
            echo '--help'
        case 'acctsec notifications subscribe'
            echo '--help'
        case 'acctsec notifications unsubscribe'
            echo '--help'
        case 'acctsec notifications org'
            echo '--help'
        case 'acctsec token'
            echo '--help'
        case 'acctsec token scopes'
            echo '--help'
        case 'acctsec token create'
            echo '--name --scope --resource --expires --password-stdin --method --code --send-code --help'
        case 'acctsec token list'
            echo '--help'
        case 'acctsec token revoke'
            echo '--password-stdin --method --code --send-code --help'
        case 'acctsec token rotate'
            echo '--password-stdin --method --code --send-code --help'
        case 'acctsec token verify'
            echo '--ip --help'
        case 'acctsec token inspect'
            echo '--help'
        case 'acctsec apikey'
            echo '--help'
        case 'acctsec apikey show'
            echo '--help'
        case 'acctsec apikey generate'
            echo '--password-stdin --method --code --send-code --help'
        case 'acctsec apikey delete'
            echo '--password-stdin --method --code --send-code --help'
        case 'acctsec apikey migrate'
            echo '--name --expires --password-stdin --method --code --send-code --help'
        case 'acctsec admin'
            echo '--help'
        case 'acctsec admin users'
            echo '--help'
        case 'acctsec admin users list'
            echo '--role --help'
        case 'acctsec admin users show'
            echo '--help'
        case 'acctsec admin users create'
            echo '--email --role --print-token --reason --help'
        case 'acctsec admin users set-role'
            echo '--reason --dry-run --help'
        case 'acctsec admin reset-password'
            echo '--print-token --reason --dry-run --help'
        case 'acctsec admin reset-mfa'
            echo '--reason --dry-run --help'
        case 'acctsec admin lock'
            echo '--reason --dry-run --help'
        case 'acctsec admin unlock'
            echo '--reason --dry-run --help'
        case 'acctsec admin unthrottle'
            echo '--reason --dry-run --help'
        case 'acctsec admin sessions'
            echo '--help'
        case 'acctsec admin sessions revoke'
            echo '--reason --dry-run --help'
        case 'acctsec admin audit'
            echo '--user --actor --since --limit --help'
        case 'acctsec admin audit verify'
            echo '--help'
        case 'acctsec serve'
            echo '--listen --tls-cert --tls-key --public-url --trust-proxy --introspection-rate --help'
        case 'acctsec config'
            echo '--help'
        case 'acctsec config get'
            echo '--help'
        case 'acctsec config set'
            echo '--help'
        case 'acctsec config unset'
            echo '--help'
        case 'acctsec config list'
            echo '--help'
        case 'acctsec config path'
            echo '--help'
        case 'acctsec completion'
            echo '--help'
    end
end

function __acctsec_values
    switch $argv[1]
        case 'acctsec login|--method'
            echo 'totp email recovery key'
        case 'acctsec sessions revoke|--method'
            echo 'totp email key'
        case 'acctsec username change|--method'
            echo 'totp email key'
        case 'acctsec mfa totp enable|--qr'
            echo 'utf8 none'
        case 'acctsec mfa totp enable|--method'
            echo 'totp email key'
        case 'acctsec mfa email enable|--method'
            echo 'totp email key'
        case 'acctsec mfa key add|--method'
            echo 'totp email key'
        case 'acctsec mfa key remove|--method'
            echo 'totp email key'
        case 'acctsec recovery-codes view|--method'
            echo 'totp key'
        case 'acctsec recovery-codes regenerate|--method'
            echo 'totp key'
        case 'acctsec ip add|--method'
            echo 'totp email key'
        case 'acctsec ip remove|--method'
            echo 'totp email key'
        case 'acctsec ip set|--method'
            echo 'totp email key'
        case 'acctsec ip clear|--method'
            echo 'totp email key'
        case 'acctsec recovery email add|--method'
            echo 'totp email key'
        case 'acctsec recovery email remove|--method'
            echo 'totp email key'
        case 'acctsec recover|--method'
            echo 'email key'
        case 'acctsec token create|--method'
            echo 'totp email key'
        case 'acctsec token revoke|--method'
            echo 'totp email key'
        case 'acctsec token rotate|--method'
            echo 'totp email key'
        case 'acctsec apikey generate|--method'
            echo 'totp email key'
        case 'acctsec apikey delete|--method'
            echo 'totp email key'
        case 'acctsec apikey migrate|--method'
            echo 'totp email key'
        case 'acctsec admin users list|--role'
            echo 'user support admin'
        case 'acctsec admin users create|--role'
            echo 'user support admin'
    end
end

function __acctsec_dynopts
    switch $argv[1]
        case 'acctsec|--profile'
            echo 'profiles'
        case 'acctsec admin audit|--user'
            echo 'users'
        case 'acctsec admin audit|--actor'
            echo 'users'
    end
end

function __acctsec_args
    switch $argv[1]
        case 'acctsec notifications format'
            echo 'html text'
        case 'acctsec completion'
            echo 'bash zsh fish'
    end
end

function __acctsec_dynargs
    switch $argv[1]
        case 'acctsec sessions revoke'
            echo 'sessions'
        case 'acctsec ip remove'
            echo 'ip'
        case 'acctsec recovery email confirm'
            echo 'recovery-emails'
        case 'acctsec recovery email remove'
            echo 'recovery-emails'
        case 'acctsec token revoke'
            echo 'tokens'
        case 'acctsec token rotate'
            echo 'tokens'
        case 'acctsec admin users show'
            echo 'users'
        case 'acctsec admin users set-role'
            echo 'users'
        case 'acctsec admin reset-password'
            echo 'users'
        case 'acctsec admin reset-mfa'
            echo 'users'
        case 'acctsec admin lock'
            echo 'users'
        case 'acctsec admin unlock'
            echo 'users'
        case 'acctsec admin sessions revoke'
            echo 'users'
    end
end

set -g __acctsec_takes '--profile' '--db' '--remote' '--username' '--email' '--bootstrap-secret-file' '--method' '--code' '--timeout' '--limit' '--qr' '--recovery-codes-file' '--name' '--output' '--file' '-f' '--current-ip' '--token' '--scope' '--resource' '--expires' '--ip' '--role' '--reason' '--user' '--actor' '--since' '--listen' '--tls-cert' '--tls-key' '--public-url' '--trust-proxy' '--introspection-rate'

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
