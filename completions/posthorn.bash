# bash completion for posthorn(1) and its mailq personality.
#
# It is registered for the command names posthorn and mailq.  A
# distribution that installs posthorn as /usr/sbin/sendmail (and owns that
# name, with no other MTA's completion for it) adds the name with
#	complete -F _posthorn sendmail
# in a file named sendmail in bash-completion's completions directory, or
# with a symbolic link of that name pointing to this file and the name added
# to the complete line at the end of it.
#
# Self-contained: it needs bash 4 and nothing from the bash-completion
# package.

# What posthorn offers when a word starts with '-'.  tests/unit/check-docs
# compares these lists with src/cli.c.
_posthorn_longopts=(--account --all --allow-empty --attach --auth --bcc --body --cc --config
    --delete --dry-run --due --edit --encrypt --from --header --help --hold --host --html
    --inline --json --login --logout --now --persist --persist-status
    --persist-stop --port --pretend --read-envelope-from --read-recipients
    --release --reply-to
    --requeue --save-copy --serverinfo --show --sign --sign-as
    --skip-empty --subject --tls --user --verbose --version
    # The configuration keys as options (--help: Keys as options).
    --from-full-name --domain --tls-starttls --tls-trust-file
    --tls-crl-file --tls-certcheck --tls-fingerprint --tls-priorities
    --tls-host-override --timeout --source-ip --dsn-notify --dsn-return
    --logfile-time-format --syslog --aliases --set-from-header
    --set-date-header --remove-bcc-headers --set-msgid-header
    --set-to-header --allow-from-override --queue --queue-lifetime
    --protocol --tls-min-dh-prime-bits --auto-from --maildomain
    --session-timeout --scram-max-iterations --command-timeout
    --failed-lifetime --proxy-host --proxy-port --proxy-user --socket
    --fallback --queue-runner --queue-backoff --bounce --bounce-to
    --max-connections --local-domains --admin)
_posthorn_shortopts=(-t -i -oi -f -r -F -N -R -V -B -C -v -bm -bp -bs -bi
    -I -q -qq -qI -A -s -a -c -b -e -E -H -G -h -L -m -n -o -O -U -P)
# mailq lists the queue: only these make sense there.
_posthorn_mailq_longopts=(--json --all --config --account --verbose --help
    --version)
_posthorn_mailq_shortopts=(-C -A -v)

# Prints the configuration file posthorn would read: -C/--config from the
# command line being completed, $POSTHORN_CONFIG, then the files of
# posthorn.conf(5) in order.
_posthorn_config_file()
{
	local i w next xdg f
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		next=${COMP_WORDS[i + 1]}
		case $w in
		--)
			break
			;;
		-C | --config)
			if [[ $next == "=" ]]; then
				f=${COMP_WORDS[i + 2]}
			else
				f=$next
			fi
			;;
		--config=*)
			f=${w#--config=}
			;;
		-C?*)
			f=${w#-C}
			;;
		esac
	done
	if [[ -n $f ]]; then
		[[ $f == "~/"* ]] && f=$HOME/${f#"~/"}
		printf '%s\n' "$f"
		return
	fi
	if [[ -n $POSTHORN_CONFIG ]]; then
		printf '%s\n' "$POSTHORN_CONFIG"
		return
	fi
	xdg=$XDG_CONFIG_HOME
	[[ $xdg == /* ]] || xdg=$HOME/.config
	for f in "$xdg/posthorn/config" "$HOME/.posthornrc" \
	    /etc/posthorn.conf; do
		if [[ -e $f ]]; then
			printf '%s\n' "$f"
			return
		fi
	done
}

# Prints the account names of the configuration file, one a line.
_posthorn_accounts()
{
	local file key rest name seen_section=0 implicit=0
	file=$(_posthorn_config_file)
	[[ -n $file && -r $file ]] || return
	while IFS=$' \t' read -r key rest; do
		key=${key%$'\r'}
		rest=${rest%$'\r'}
		case $key in
		'' | '#'*)
			continue
			;;
		account)
			seen_section=1
			name=${rest%%:*}
			name=${name%"${name##*[![:blank:]]}"}
			if [[ $name == \"*\" && ${#name} -ge 2 ]]; then
				name=${name:1:${#name}-2}
			fi
			[[ -n $name ]] && printf '%s\n' "$name"
			;;
		defaults)
			seen_section=1
			;;
		*)
			# Keys before any section form the account "default".
			((seen_section)) || implicit=1
			;;
		esac
	done <"$file"
	((implicit)) && printf '%s\n' default
}

# Adds the words of $1 (one a line) that start with $2 to COMPREPLY,
# quoted for the shell, each prefixed with $3.
_posthorn_add()
{
	local w
	while IFS= read -r w; do
		[[ -n $w && $w == "$2"* ]] || continue
		if [[ $w == *[[:space:]\'\"\\]* ]]; then
			COMPREPLY+=("$3$(printf '%q' "$w")")
		else
			COMPREPLY+=("$3$w")
		fi
	done <<<"$1"
}

_posthorn_files()
{
	local IFS=$'\n'
	compopt -o filenames 2>/dev/null
	COMPREPLY+=($(compgen -f -- "$1"))
}

# Value completion for option $1 with the partial value $2; 0 when $1 takes
# a value (even one with nothing to offer), 1 when it does not.
# The ids in the queue (posthorn -bp --json with the command line's
# configuration file), and "all".
_posthorn_queue_ids()
{
	local conf
	conf=$(_posthorn_config_file)
	printf '%s\n' all
	"${COMP_WORDS[0]}" ${conf:+-C "$conf"} -bp --json 2>/dev/null |
	    sed -n 's/^{"id":"\([A-Za-z0-9]*\)".*/\1/p'
}

_posthorn_value()
{
	local opt=$1 cur=$2 v
	local mechs="PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256
SCRAM-SHA-1-PLUS SCRAM-SHA-256-PLUS XOAUTH2 OAUTHBEARER EXTERNAL GSSAPI"
	case $opt in
	-A | --account)
		_posthorn_add "$(_posthorn_accounts)" "$cur" ""
		;;
	-a | --attach | -C | --config | --body | --html | --inline | --save-copy)
		_posthorn_files "$cur"
		;;
	--tls)
		_posthorn_add $'on\noff\nstarttls' "$cur" ""
		;;
	--auth)
		_posthorn_add "$(printf '%s\n' on off $mechs)" "$cur" ""
		;;
	-N)
		# never, or a comma list of success, failure, delay.
		if [[ $cur == *,* ]]; then
			local done=${cur%,*} w list=""
			for w in success failure delay; do
				[[ ,$done, == *,$w,* ]] || list+=$w$'\n'
			done
			_posthorn_add "$list" "${cur##*,}" "$done,"
		else
			_posthorn_add $'never\nsuccess\nfailure\ndelay\nsuccess,failure\nfailure,delay\nsuccess,failure,delay' "$cur" ""
		fi
		compopt -o nospace 2>/dev/null
		;;
	-R)
		_posthorn_add $'full\nhdrs' "$cur" ""
		;;
	--show | --delete | --requeue | --hold | --release)
		_posthorn_add "$(_posthorn_queue_ids)" "$cur" ""
		;;
	-B)
		_posthorn_add $'7BIT\n8BITMIME' "$cur" ""
		;;
	-b)
		_posthorn_add $'m\np\ns\ni' "$cur" ""
		;;
	-f | -r | --from | -F | -V | -c | --cc | -b | --bcc | --reply-to | \
	    -s | --subject | -H | --header | --host | --port | --user | \
	    -h | -L | -o | -O | -qI)
		# Free text: nothing to offer.
		;;
	*)
		return 1
		;;
	esac
	return 0
}

_posthorn()
{
	local cur prev cmd i w opt rest
	local -a longs shorts
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	cmd=${COMP_WORDS[0]##*/}

	# --opt=value, whether or not '=' is in COMP_WORDBREAKS.
	if [[ $cur == "=" && $prev == --* ]]; then
		_posthorn_value "$prev" ""
		return
	fi
	if [[ $prev == "=" && ${COMP_WORDS[COMP_CWORD - 2]} == --* ]]; then
		_posthorn_value "${COMP_WORDS[COMP_CWORD - 2]}" "$cur"
		return
	fi
	if [[ $cur == --*=* ]]; then
		opt=${cur%%=*}
		_posthorn_value "$opt" "${cur#*=}"
		local j
		for ((j = 0; j < ${#COMPREPLY[@]}; j++)); do
			COMPREPLY[j]=$opt=${COMPREPLY[j]}
		done
		return
	fi

	# Options end at the first recipient (or at --): after it, nothing
	# is an option, and posthorn refuses a word starting with '-'.
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		--)
			return
			;;
		--*=* | --all | --dry-run | --due | --help | --json | --now | \
		    --pretend | \
		    --read-envelope-from | --read-recipients | --serverinfo | \
		    --verbose | --version | --login | --logout | \
		    --persist-status | --persist-stop)
			;;
		# Key options whose value may be left out take it only
		# after '='.
		--tls-starttls | \
		    --tls-certcheck | \
		    --syslog | \
		    --set-from-header | \
		    --set-date-header | \
		    --remove-bcc-headers | \
		    --set-msgid-header | \
		    --set-to-header | \
		    --allow-from-override | \
		    --queue | \
		    --auto-from | \
		    --queue-runner | \
		    --bounce)
			;;
		--*)
			# A long option that takes a value: skip it.
			((i++))
			[[ ${COMP_WORDS[i]} == "=" ]] && ((i++))
			;;
		-qI)
			((i++))
			;;
		-q*)
			;;
		-?*)
			# A cluster of short options; a letter that takes a
			# value ends it, the value attached or the next word.
			rest=${w#-}
			while [[ -n $rest ]]; do
				case ${rest:0:1} in
				[aAbBcCfFHhLNoOrRsV])
					[[ -z ${rest:1} ]] && ((i++))
					break
					;;
				esac
				rest=${rest:1}
			done
			;;
		*)
			# The first recipient.
			return
			;;
		esac
	done

	if [[ $cmd == mailq ]]; then
		longs=("${_posthorn_mailq_longopts[@]}")
		shorts=("${_posthorn_mailq_shortopts[@]}")
	else
		longs=("${_posthorn_longopts[@]}")
		shorts=("${_posthorn_shortopts[@]}")
	fi

	if _posthorn_value "$prev" "$cur"; then
		return
	fi

	case $cur in
	--*)
		_posthorn_add "$(printf '%s\n' "${longs[@]}")" "$cur" ""
		;;
	-A?*)
		[[ $cmd == mailq ]] || _posthorn_add "$(_posthorn_accounts)" \
		    "${cur#-A}" "-A"
		;;
	-C?*)
		_posthorn_files "${cur#-C}"
		for ((i = 0; i < ${#COMPREPLY[@]}; i++)); do
			COMPREPLY[i]=-C${COMPREPLY[i]}
		done
		;;
	-*)
		_posthorn_add "$(printf '%s\n' "${shorts[@]}" "${longs[@]}")" \
		    "$cur" ""
		;;
	esac
}

complete -F _posthorn posthorn mailq
