# fish completion for posthorn(1) and its mailq personality.
#
# fish loads this file for the command posthorn; the mailq lines at the end
# apply once it is loaded.  A package that wants them without that installs
# this file a second time as mailq.fish.  A distribution that installs
# posthorn as /usr/sbin/sendmail (and no other MTA owns that name) installs
# it as sendmail.fish as well and adds
#	complete -c sendmail -w posthorn
# which makes sendmail complete like posthorn.

# The configuration file posthorn would read: -C/--config on the command
# line, $POSTHORN_CONFIG, then the files of posthorn.conf(5).
function __posthorn_config_file
    set -l tokens (commandline -opc)
    set -l file
    set -l i 2
    while test $i -le (count $tokens)
        set -l w $tokens[$i]
        switch $w
            case --
                break
            case -C --config
                set -l j (math $i + 1)
                if test $j -le (count $tokens)
                    set file $tokens[$j]
                end
            case '--config=*'
                set file (string replace -- --config= '' $w)
            case '-C?*'
                set file (string sub -s 3 -- $w)
        end
        set i (math $i + 1)
    end
    if test -n "$file"
        string replace -r '^~/' "$HOME/" -- $file
        return
    end
    if set -q POSTHORN_CONFIG; and test -n "$POSTHORN_CONFIG"
        echo $POSTHORN_CONFIG
        return
    end
    set -l xdg $HOME/.config
    if set -q XDG_CONFIG_HOME; and string match -q '/*' -- $XDG_CONFIG_HOME
        set xdg $XDG_CONFIG_HOME
    end
    for f in $xdg/posthorn/config $HOME/.posthornrc /etc/posthorn.conf
        if test -e $f
            echo $f
            return
        end
    end
end

# Account names: "account NAME" and "account NAME : PARENTS" lines; key
# lines before any section make an account named default.
function __posthorn_accounts
    set -l file (__posthorn_config_file)
    test -n "$file"; and test -r "$file"; or return
    set -l section 0
    set -l implicit 0
    while read -l line
        set line (string trim -- (string replace -r '\r$' '' -- $line))
        set -l key (string replace -r '[ \t].*' '' -- $line)
        switch "$key"
            case '' '#*'
                continue
            case account
                set section 1
                set -l name (string replace -r '^account[ \t]+' '' -- $line)
                set name (string trim -- (string split -m1 -f1 -- : $name))
                set name (string replace -r '^"(.*)"$' '$1' -- $name)
                test -n "$name"; and echo $name
            case defaults
                set section 1
            case '*'
                test $section -eq 0; and set implicit 1
        end
    end <$file
    test $implicit -eq 1; and echo default
end

# True until the first recipient (or --): posthorn's options end there.
function __posthorn_no_rcpt
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l skip 0
    for w in $tokens
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $w
            case --
                return 1
            case '--*=*' --all --dry-run --due --help --json --now --pretend --read-envelope-from --read-recipients --serverinfo --verbose --version --login --logout --tls-starttls --tls-certcheck --syslog --set-from-header --set-date-header --remove-bcc-headers --set-msgid-header --set-to-header --allow-from-override --queue --auto-from --queue-runner --bounce --persist-status --persist-stop
            case '--*'
                set skip 1
            case -qI
                set skip 1
            case '-q*'
            case '-?*'
                # A cluster of short options: a letter that takes a value
                # ends it, the value attached or the next word.
                set -l rest (string sub -s 2 -- $w)
                set -l n (string length -- $rest)
                for k in (seq $n)
                    if string match -q -r '^[aAbBcCfFHhLNoOrRsV]$' -- (string sub -s $k -l 1 -- $rest)
                        test $k -eq $n; and set skip 1
                        break
                    end
                end
            case '*'
                return 1
        end
    end
    return 0
end

# The ids in the queue (posthorn -bp --json), and all.
function __posthorn_queue_ids
    set -l conf (__posthorn_config_file)
    echo all
    set -l cmd (commandline -opc)[1]
    if test -n "$conf"
        $cmd -C $conf -bp --json 2>/dev/null | string replace -rf '^\{"id":"([A-Za-z0-9]+)".*' '$1'
    else
        $cmd -bp --json 2>/dev/null | string replace -rf '^\{"id":"([A-Za-z0-9]+)".*' '$1'
    end
end

# Recipients are addresses, not files.
complete -c posthorn -f

# Sendmail options.
complete -c posthorn -n __posthorn_no_rcpt -s t -l read-recipients -d 'Also take recipients from To, Cc, Bcc (or Resent-*)'
complete -c posthorn -n __posthorn_no_rcpt -l read-envelope-from -d 'Sender and account from the From header'
complete -c posthorn -n __posthorn_no_rcpt -s i -d 'Accepted: input is always read to its end'
complete -c posthorn -n __posthorn_no_rcpt -s f -l from -x -d 'Envelope sender'
complete -c posthorn -n __posthorn_no_rcpt -s r -x -d 'Envelope sender'
complete -c posthorn -n __posthorn_no_rcpt -s F -x -d 'Display name for an added From header'
complete -c posthorn -n __posthorn_no_rcpt -s N -x -a 'never success failure delay success,failure failure,delay success,failure,delay' -d 'DSN NOTIFY'
complete -c posthorn -n __posthorn_no_rcpt -s R -x -a 'full\t"the full message" hdrs\t"the headers only"' -d 'DSN RET'
complete -c posthorn -n __posthorn_no_rcpt -s V -x -d 'DSN envelope id'
complete -c posthorn -n __posthorn_no_rcpt -s B -x -a '7BIT 8BITMIME' -d 'Body type'
complete -c posthorn -n __posthorn_no_rcpt -s C -l config -r -F -d 'Configuration file'
complete -c posthorn -n __posthorn_no_rcpt -s v -l verbose -d 'Show the SMTP dialogue on stderr'
complete -c posthorn -n __posthorn_no_rcpt -s b -x -a 'm\t"deliver (default)" p\t"list the queue" s\t"speak SMTP on stdin and stdout" i\t"nothing to rebuild"' -d 'Mode, or (not one letter) a Bcc address'
complete -c posthorn -n __posthorn_no_rcpt -s I -d 'Nothing to rebuild (exit 0)'
complete -c posthorn -n __posthorn_no_rcpt -o q -d 'Deliver the queue now'
complete -c posthorn -n __posthorn_no_rcpt -o qq -d 'The same as -q'
complete -c posthorn -n __posthorn_no_rcpt -o qI -x -d 'Deliver the queued message ID now'
complete -c posthorn -n __posthorn_no_rcpt -l now -d 'With -q: every queued message (the default)'
complete -c posthorn -n __posthorn_no_rcpt -l due -d 'With -q: only messages whose retry wait has passed'
complete -c posthorn -n __posthorn_no_rcpt -l json -d 'With -bp or --show: JSON; with a send: the outcome per recipient'
complete -c posthorn -n __posthorn_no_rcpt -l all -d "With -bp, as root: every user's queue, read only"

# Queue commands: one or more ids, or all.
complete -c posthorn -n __posthorn_no_rcpt -l show -x -a '(__posthorn_queue_ids)' -d 'A queued or failed message in full'
complete -c posthorn -n __posthorn_no_rcpt -l delete -x -a '(__posthorn_queue_ids)' -d 'Remove messages'
complete -c posthorn -n __posthorn_no_rcpt -l requeue -x -a '(__posthorn_queue_ids)' -d 'Failed or held messages back, due now'
complete -c posthorn -n __posthorn_no_rcpt -l hold -x -a '(__posthorn_queue_ids)' -d 'Keep messages queued, untried'
complete -c posthorn -n __posthorn_no_rcpt -l release -x -a '(__posthorn_queue_ids)' -d 'Let held messages go, due now'
complete -c posthorn -n __posthorn_no_rcpt -l serverinfo -d 'Show what the server offers'
complete -c posthorn -n __posthorn_no_rcpt -s P -l pretend -d 'Show the account this run would use'
complete -c posthorn -n __posthorn_no_rcpt -l login -d 'OAuth2: sign the account in'
complete -c posthorn -n __posthorn_no_rcpt -l logout -d 'OAuth2: revoke and forget the tokens'
complete -c posthorn -n __posthorn_no_rcpt -l persist-status -d 'List the sessions held for later sends'
complete -c posthorn -n __posthorn_no_rcpt -l persist-stop -d 'End the held sessions (-A: one account)'
complete -c posthorn -n __posthorn_no_rcpt -l persist -x -a '0 10 60 300' -d 'Hold the session for later sends (seconds)'
complete -c posthorn -n __posthorn_no_rcpt -l help -d 'Show the options'
complete -c posthorn -n __posthorn_no_rcpt -l version -d 'Show the version'

# Accepted and ignored, as Postfix does.
complete -c posthorn -n __posthorn_no_rcpt -s o -x -d 'Ignored sendmail option'
complete -c posthorn -n __posthorn_no_rcpt -s O -x -d 'Ignored sendmail option'
complete -c posthorn -n __posthorn_no_rcpt -s G -d Ignored
complete -c posthorn -n __posthorn_no_rcpt -s h -x -d 'Ignored: hop count'
complete -c posthorn -n __posthorn_no_rcpt -s L -x -d 'Ignored: log tag'
complete -c posthorn -n __posthorn_no_rcpt -s U -d Ignored
complete -c posthorn -n __posthorn_no_rcpt -s m -d Ignored
complete -c posthorn -n __posthorn_no_rcpt -s n -d Ignored

# Account.
complete -c posthorn -n __posthorn_no_rcpt -s A -l account -x -a '(__posthorn_accounts)' -d 'Use this account'
complete -c posthorn -n __posthorn_no_rcpt -l host -x -a '(__fish_print_hostnames)' -d 'SMTP server'
complete -c posthorn -n __posthorn_no_rcpt -l port -x -a '25 465 587' -d 'TCP port'
complete -c posthorn -n __posthorn_no_rcpt -l tls -x -a 'on\t"implicit TLS" off\t"no TLS" starttls\t"STARTTLS after the greeting"' -d TLS
complete -c posthorn -n __posthorn_no_rcpt -l user -x -d 'User name'
complete -c posthorn -n __posthorn_no_rcpt -l auth -x -a 'on\t"the best mechanism the server offers" off\t"do not authenticate" PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-256-PLUS XOAUTH2 OAUTHBEARER EXTERNAL GSSAPI' -d Authentication

# Composing.
complete -c posthorn -n __posthorn_no_rcpt -s s -l subject -x -d 'Subject (compose mode)'
complete -c posthorn -n __posthorn_no_rcpt -s a -l attach -r -F -d 'Attach a file (FILE or FILE:type/subtype)'
complete -c posthorn -n __posthorn_no_rcpt -s c -l cc -x -d 'Cc recipient'
complete -c posthorn -n __posthorn_no_rcpt -l bcc -x -d 'Bcc recipient'
complete -c posthorn -n __posthorn_no_rcpt -s E -l skip-empty -d 'An empty body sends nothing (exit 0)'
complete -c posthorn -n __posthorn_no_rcpt -s e -l edit -d 'Compose in $VISUAL or $EDITOR'
complete -c posthorn -n __posthorn_no_rcpt -l allow-empty -d 'Send a body typed empty at the terminal'
complete -c posthorn -n __posthorn_no_rcpt -l reply-to -x -d 'Reply-To address'
complete -c posthorn -n __posthorn_no_rcpt -s H -l header -x -d "Add a header ('Name: value')"
complete -c posthorn -n __posthorn_no_rcpt -l body -r -F -d 'Text body file'
complete -c posthorn -n __posthorn_no_rcpt -l html -r -F -d 'HTML alternative'
complete -c posthorn -n __posthorn_no_rcpt -l inline -r -F -d 'Inline image for the HTML (cid:NAME)'
complete -c posthorn -n __posthorn_no_rcpt -l sign -d "PGP/MIME signed with the sender's key"
complete -c posthorn -n __posthorn_no_rcpt -l sign-as -x -d 'PGP/MIME signed with this key'
complete -c posthorn -n __posthorn_no_rcpt -l encrypt -d "PGP/MIME encrypted to every recipient's key"
complete -c posthorn -n __posthorn_no_rcpt -l save-copy -r -F -d 'Once sent, append a copy to a Maildir or mbox'
complete -c posthorn -n __posthorn_no_rcpt -l dry-run -d 'Print the envelope and message instead of sending'

# mailq lists the queue.
complete -c mailq -f
complete -c mailq -l json -d 'One JSON object per message'
complete -c mailq -l all -d "As root: every user's queue, read only"
complete -c mailq -s C -l config -r -F -d 'Configuration file'
complete -c mailq -s A -l account -x -a '(__posthorn_accounts)' -d 'Account whose queue to list'
complete -c mailq -s v -l verbose -d Verbose
complete -c mailq -l help -d 'Show the options'
complete -c mailq -l version -d 'Show the version'

# The configuration keys as options (posthorn --help, "Keys as options").
complete -c posthorn -n __posthorn_no_rcpt -l from-full-name -r -d 'Key from_full_name'
complete -c posthorn -n __posthorn_no_rcpt -l domain -r -d 'Key domain'
complete -c posthorn -n __posthorn_no_rcpt -l tls-starttls -a 'on off' -d 'Key tls_starttls (on or off)'
complete -c posthorn -n __posthorn_no_rcpt -l tls-trust-file -r -d 'Key tls_trust_file'
complete -c posthorn -n __posthorn_no_rcpt -l tls-crl-file -r -d 'Key tls_crl_file'
complete -c posthorn -n __posthorn_no_rcpt -l tls-certcheck -a 'on off' -d 'Key tls_certcheck (on or off)'
complete -c posthorn -n __posthorn_no_rcpt -l tls-fingerprint -r -d 'Key tls_fingerprint'
complete -c posthorn -n __posthorn_no_rcpt -l tls-priorities -r -d 'Key tls_priorities'
complete -c posthorn -n __posthorn_no_rcpt -l tls-host-override -r -d 'Key tls_host_override'
complete -c posthorn -n __posthorn_no_rcpt -l timeout -r -d 'Key timeout'
complete -c posthorn -n __posthorn_no_rcpt -l source-ip -r -d 'Key source_ip'
complete -c posthorn -n __posthorn_no_rcpt -l dsn-notify -r -d 'Key dsn_notify'
complete -c posthorn -n __posthorn_no_rcpt -l dsn-return -r -d 'Key dsn_return'
complete -c posthorn -n __posthorn_no_rcpt -l logfile-time-format -r -d 'Key logfile_time_format'
complete -c posthorn -n __posthorn_no_rcpt -l syslog -a 'on off' -d 'Key syslog (on or off)'
complete -c posthorn -n __posthorn_no_rcpt -l aliases -r -d 'Key aliases'
complete -c posthorn -n __posthorn_no_rcpt -l set-from-header -a 'on off' -d 'Key set_from_header (on or off)'
complete -c posthorn -n __posthorn_no_rcpt -l set-date-header -a 'on off' -d 'Key set_date_header (on or off)'
complete -c posthorn -n __posthorn_no_rcpt -l remove-bcc-headers -a 'on off' -d 'Key remove_bcc_headers (on or off)'
complete -c posthorn -n __posthorn_no_rcpt -l set-msgid-header -a 'on off' -d 'Key set_msgid_header (on or off)'
complete -c posthorn -n __posthorn_no_rcpt -l set-to-header -a 'on off' -d 'Key set_to_header (on or off)'
complete -c posthorn -n __posthorn_no_rcpt -l allow-from-override -a 'on off' -d 'Key allow_from_override (on or off)'
complete -c posthorn -n __posthorn_no_rcpt -l queue -a 'on off' -d 'Key queue (on or off)'
complete -c posthorn -n __posthorn_no_rcpt -l queue-lifetime -r -d 'Key queue_lifetime'
complete -c posthorn -n __posthorn_no_rcpt -l protocol -r -d 'Key protocol'
complete -c posthorn -n __posthorn_no_rcpt -l tls-min-dh-prime-bits -r -d 'Key tls_min_dh_prime_bits'
complete -c posthorn -n __posthorn_no_rcpt -l auto-from -a 'on off' -d 'Key auto_from (on or off)'
complete -c posthorn -n __posthorn_no_rcpt -l maildomain -r -d 'Key maildomain'
complete -c posthorn -n __posthorn_no_rcpt -l session-timeout -r -d 'Key session_timeout'
complete -c posthorn -n __posthorn_no_rcpt -l scram-max-iterations -r -d 'Key scram_max_iterations'
complete -c posthorn -n __posthorn_no_rcpt -l command-timeout -r -d 'Key command_timeout'
complete -c posthorn -n __posthorn_no_rcpt -l failed-lifetime -r -d 'Key failed_lifetime'
complete -c posthorn -n __posthorn_no_rcpt -l proxy-host -r -d 'Key proxy_host'
complete -c posthorn -n __posthorn_no_rcpt -l proxy-port -r -d 'Key proxy_port'
complete -c posthorn -n __posthorn_no_rcpt -l proxy-user -r -d 'Key proxy_user'
complete -c posthorn -n __posthorn_no_rcpt -l socket -r -d 'Key socket'
complete -c posthorn -n __posthorn_no_rcpt -l fallback -r -d 'Key fallback'
complete -c posthorn -n __posthorn_no_rcpt -l queue-runner -r -d 'Key queue_runner'
complete -c posthorn -n __posthorn_no_rcpt -l queue-backoff -r -d 'Key queue_backoff'
complete -c posthorn -n __posthorn_no_rcpt -l bounce -r -d 'Key bounce'
complete -c posthorn -n __posthorn_no_rcpt -l bounce-to -r -d 'Key bounce_to'
complete -c posthorn -n __posthorn_no_rcpt -l max-connections -r -d 'Key max_connections'
complete -c posthorn -n __posthorn_no_rcpt -l local-domains -r -d 'Key local_domains'
complete -c posthorn -n __posthorn_no_rcpt -l admin -r -d 'Key admin'
