#compdef fimsum

autoload -U is-at-least

_fimsum() {
    typeset -A opt_args
    typeset -a _arguments_options
    local ret=1

    if is-at-least 5.2; then
        _arguments_options=(-s -S -C)
    else
        _arguments_options=(-s -C)
    fi

    local context curcontext="$curcontext" state line
    _arguments "${_arguments_options[@]}" : \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'-V[Print version]' \
'--version[Print version]' \
":: :_fimsum_commands" \
"*::: :->fimsum" \
&& ret=0
    case $state in
    (fimsum)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:fimsum-command-$line[1]:"
        case $line[1] in
            (scan)
_arguments "${_arguments_options[@]}" : \
'--checksum-choice=[Checksum algorithm, as rsync'\''s --checksum-choice]:ALGO:_default' \
'--cc=[Checksum algorithm, as rsync'\''s --checksum-choice]:ALGO:_default' \
'-o+[Write a baseline to FILE instead of printing lines]:FILE:_files' \
'--output=[Write a baseline to FILE instead of printing lines]:FILE:_files' \
'*--digest=[Also compute these digests of every file, from the same read\: md5, sha1, sha256 (comma-separated or repeated). With -o the baseline records them and \`check\` compares them too; without, they serve only to match --ioc lists, and stdout stays rsync'\''s lines]:ALGOS:_default' \
'--sign-key=[Sign the baseline with this secret key (NAME.key of \`fimsum key generate\`)]:FILE:_files' \
'--generation=[Give the new baseline generation N instead of one more than the baseline it replaces. A signed baseline continues only a baseline that its key signed\: over anything else, say where to start (above any generation a verifier accepted)]:N:_default' \
'*--ioc=[A list of known-bad hashes (one per line, md5sum/sha256sum format, or CSV with md5/sha1/sha256 columns such as MalwareBazaar'\''s); a file on it is critical and sets exit bit 16. Repeatable; added to the config file'\''s \`ioc\` lists]:FILE:_files' \
'*--exclude=[Exclude entries matching PATTERN (rsync pattern rules)]:PATTERN:_default' \
'*--include=[Don'\''t exclude entries matching PATTERN (rules apply in command-line order)]:PATTERN:_default' \
'*--exclude-from=[Read exclude patterns from FILE]:FILE:_files' \
'*-f+[A filter RULE in rsync'\''s syntax\: \`- PATTERN\`, \`+ PATTERN\`, \`hide\`, \`show\`, \`!\`, and \`. FILE\` (merge FILE'\''s rules here); protect and risk rules change no listing. \`\:\`/\`dir-merge FILE\` reads FILE in every directory (docs/listing.md)]:RULE:_default' \
'*--filter=[A filter RULE in rsync'\''s syntax\: \`- PATTERN\`, \`+ PATTERN\`, \`hide\`, \`show\`, \`!\`, and \`. FILE\` (merge FILE'\''s rules here); protect and risk rules change no listing. \`\:\`/\`dir-merge FILE\` reads FILE in every directory (docs/listing.md)]:RULE:_default' \
'*--include-from=[Read include patterns from FILE (rules apply in command-line order)]:FILE:_files' \
'--files-from=[List exactly the names in FILE, relative to the one source directory, with the directories above them (rsync'\''s implied -R); a listed directory is entered only with -r, which -a does not imply here]:FILE:_files' \
'--max-size=[Leave out regular files larger than SIZE (rsync'\''s units\: 100, 10k, 1.5M, 1MB, 1G-1)]:SIZE:_default' \
'--min-size=[Leave out regular files smaller than SIZE]:SIZE:_default' \
'--threads=[Hashing threads, at most 1024 (default, or 0\: one per core)]:N:_default' \
'--kernel=[MD5 implementation\: auto (the best this CPU has), scalar, avx2 or avx512 (a kernel the CPU lacks is an error). The digests are the same with every kernel]:KERNEL:_default' \
'*-x[Don'\''t cross filesystem boundaries\: a mount point is listed, not entered; given twice (-xx), mount points are left out too]' \
'*--one-file-system[Don'\''t cross filesystem boundaries\: a mount point is listed, not entered; given twice (-xx), mount points are left out too]' \
'*-F[Read per-directory .rsync-filter files (--filter='\''dir-merge /.rsync-filter'\''); given twice, also leave them out (--filter='\''- .rsync-filter'\'')]' \
'-C[Leave out what CVS ignores\: rsync'\''s default list, \$HOME/.cvsignore, \$CVSIGNORE and each directory'\''s .cvsignore, after all other rules]' \
'--cvs-exclude[Leave out what CVS ignores\: rsync'\''s default list, \$HOME/.cvsignore, \$CVSIGNORE and each directory'\''s .cvsignore, after all other rules]' \
'-0[The --exclude-from, --include-from and --files-from files are NUL-separated]' \
'--from0[The --exclude-from, --include-from and --files-from files are NUL-separated]' \
'-R[Name each entry by its path as given (rsync'\''s -R)\: the directories above a source are listed too, and a \`/./\` in a source says where that path starts (\`a/./b/c\` lists \`b/c\` from \`a\`)]' \
'--relative[Name each entry by its path as given (rsync'\''s -R)\: the directories above a source are listed too, and a \`/./\` in a source says where that path starts (\`a/./b/c\` lists \`b/c\` from \`a\`)]' \
'--no-implied-dirs[With --files-from or -R\: list only the names, not the directories above them]' \
'*-a[rsync'\''s -a\: -rlptgoD (the default when none of these options is given)]' \
'*--archive[rsync'\''s -a\: -rlptgoD (the default when none of these options is given)]' \
'*-r[Enter directories (rsync'\''s -r)]' \
'*--recursive[Enter directories (rsync'\''s -r)]' \
'*--no-recursive[Do not enter directories]' \
'*--no-r[Do not enter directories]' \
'*-l[List symlinks (rsync'\''s -l); without it they are \`skipping non-regular file\` lines]' \
'*--links[List symlinks (rsync'\''s -l); without it they are \`skipping non-regular file\` lines]' \
'*--no-links[Do not list symlinks]' \
'*--no-l[Do not list symlinks]' \
'*-D[--devices --specials]' \
'*--no-D[--no-devices --no-specials]' \
'*--devices[List character and block devices]' \
'*--no-devices[Do not list devices]' \
'*--specials[List FIFOs and sockets]' \
'*--no-specials[Do not list FIFOs and sockets]' \
'*-t[rsync'\''s -t\: changes no entry; rsync then prints the root'\''s \`./\` line]' \
'*--times[rsync'\''s -t\: changes no entry; rsync then prints the root'\''s \`./\` line]' \
'*-p[rsync'\''s -p\: changes no entry; rsync then prints \`./\` for a root not of mode 755]' \
'*--perms[rsync'\''s -p\: changes no entry; rsync then prints \`./\` for a root not of mode 755]' \
'*-g[rsync'\''s -g\: changes no entry; rsync then prints \`./\` for a root of another group]' \
'*--group[rsync'\''s -g\: changes no entry; rsync then prints \`./\` for a root of another group]' \
'*--owner[rsync'\''s -o\: changes no entry; rsync (as root) then prints \`./\` for a root of another owner]' \
'-L[Follow every symlink\: list it as the file or directory it leads to (rsync'\''s -L)]' \
'--copy-links[Follow every symlink\: list it as the file or directory it leads to (rsync'\''s -L)]' \
'--copy-unsafe-links[Follow the symlinks that lead outside the transfer (absolute, or climbing above the source root), as rsync counts them]' \
'--safe-links[Leave out symlinks that lead outside the transfer]' \
'*-H[Print the names of one inode where rsync'\''s -H prints them\: each group at its last name, the others after it latest first (docs/listing.md). -a does not imply it]' \
'*--hard-links[Print the names of one inode where rsync'\''s -H prints them\: each group at its last name, the others after it latest first (docs/listing.md). -a does not imply it]' \
'*--no-hard-links[Undo an earlier -H (the last of -H and --no-H counts)]' \
'*--no-H[Undo an earlier -H (the last of -H and --no-H counts)]' \
'-n[rsync'\''s -n\: accepted and changes nothing, since fimsum never copies anything]' \
'--dry-run[rsync'\''s -n\: accepted and changes nothing, since fimsum never copies anything]' \
'*-k[Not implemented (rsync'\''s -k, --copy-dirlinks)]' \
'*--copy-dirlinks[Not implemented (rsync'\''s -k, --copy-dirlinks)]' \
'*-m[Not implemented (rsync'\''s -m, --prune-empty-dirs)]' \
'*--prune-empty-dirs[Not implemented (rsync'\''s -m, --prune-empty-dirs)]' \
'(-v --verbose)-q[No progress display (it is shown only when stderr is a terminal anyway)]' \
'(-v --verbose)--quiet[No progress display (it is shown only when stderr is a terminal anyway)]' \
'-v[List every entry on stderr as it is done]' \
'--verbose[List every entry on stderr as it is done]' \
'--no-attrs[Do not record security attributes (capabilities, inode flags, ACLs, SELinux label, xattrs)\: two system calls fewer per file; a check reports them "not recorded"]' \
'-h[Print help]' \
'--help[Print help]' \
'*::paths -- Sources, as rsync takes them\: `dir/` lists the contents of dir, `dir` lists dir itself:_default' \
&& ret=0
;;
(init)
_arguments "${_arguments_options[@]}" : \
'--config=[The config file (default /etc/fimsum.toml if it exists, else the built-in policy\: \`fimsum config --default\` prints it)]:FILE:_files' \
'--sign-key=[Sign the baseline with this secret key (default\: the config file'\''s \`sign_key\`)]:FILE:_files' \
'--generation=[Give the new baseline generation N instead of one more than the baseline it replaces. A signed baseline continues only a baseline that its key signed\: over anything else, say where to start (above any generation a verifier accepted)]:N:_default' \
'--threads=[Hashing threads, at most 1024 (default, or 0\: one per core)]:N:_default' \
'--kernel=[MD5 implementation\: auto (the best this CPU has), scalar, avx2 or avx512 (a kernel the CPU lacks is an error). The digests are the same with every kernel]:KERNEL:_default' \
'--force[Replace an existing baseline (\`update\` is the way to accept changes after a check)]' \
'(-v --verbose)-q[No progress display (it is shown only when stderr is a terminal anyway)]' \
'(-v --verbose)--quiet[No progress display (it is shown only when stderr is a terminal anyway)]' \
'-v[List every entry on stderr as it is done]' \
'--verbose[List every entry on stderr as it is done]' \
'--no-attrs[Do not record security attributes (capabilities, inode flags, ACLs, SELinux label, xattrs)\: two system calls fewer per file; a check reports them "not recorded"]' \
'-h[Print help]' \
'--help[Print help]' \
&& ret=0
;;
(check)
_arguments "${_arguments_options[@]}" : \
'--format=[]:FORMAT:((human\:"A summary, then one line per change, most severe first (colour on a terminal)"
rsync\:"The lines \`rsync -a --delete --checksum --out-format="%n %C" NEW/ OLD-COPY/\` prints"
itemize\:"The same with \`--out-format="%i %n %C"\`\: also attribute-only changes"
json\:"One JSON object per line (docs/json.md)"
ecs\:"Elastic Common Schema documents, one per line, as Auditbeat'\''s file_integrity module writes them (docs/siem.md)"
ocsf\:"OCSF File System Activity events, one per line (docs/siem.md)"))' \
'--verify-key=[Require a valid signature by this public key (NAME.pub), checked before any entry is read; a missing or bad signature, or one by another key, is an error (exit 65). \`check\` and \`update\` take the config file'\''s \`verify_key\` when this is not given]:FILE:_files' \
'--expect-host=[With --verify-key\: the baseline must have been made on host NAME]:NAME:_default' \
'--min-generation=[With --verify-key\: the baseline'\''s generation must be at least N (refuses an older baseline played back)]:N:_default' \
'--threads=[Hashing threads, at most 1024 (default, or 0\: one per core)]:N:_default' \
'--kernel=[MD5 implementation\: auto (the best this CPU has), scalar, avx2 or avx512 (a kernel the CPU lacks is an error). The digests are the same with every kernel]:KERNEL:_default' \
'--quick-sample=[With --quick, still rehash about this percentage of the trusted files, at random]:PERCENT:_default' \
'--config=[The config file (default /etc/fimsum.toml if it exists, else the built-in policy\: \`fimsum config --default\` prints it)]:FILE:_files' \
'*--ioc=[A list of known-bad hashes (one per line, md5sum/sha256sum format, or CSV with md5/sha1/sha256 columns such as MalwareBazaar'\''s); a file on it is critical and sets exit bit 16. Repeatable; added to the config file'\''s \`ioc\` lists]:FILE:_files' \
'--syslog-socket=[The syslog socket]:PATH:_files' \
'(-v --verbose)-q[No progress display (it is shown only when stderr is a terminal anyway)]' \
'(-v --verbose)--quiet[No progress display (it is shown only when stderr is a terminal anyway)]' \
'-v[List every entry on stderr as it is done]' \
'--verbose[List every entry on stderr as it is done]' \
'--no-attrs[Do not record security attributes (capabilities, inode flags, ACLs, SELinux label, xattrs)\: two system calls fewer per file; a check reports them "not recorded"]' \
'--quick[Take a file'\''s checksum from the baseline, without reading the file, when its device, inode, size, mtime and ctime are all unchanged (ctime cannot be set back by a user)]' \
'--copy[The tree is a copy of the one the baseline describes (a forensic copy, a restored backup, \`rsync -aHAX\`)\: compare only what a faithful copy keeps (content, type, mode, owner, group, size, mtime, symlink target, device numbers), not the ctime, inode or link count, which every copy changes. Cannot be combined with --quick, which trusts the ctime]' \
'--packages[Mark a changed file whose new content is what its Debian package ships (dpkg'\''s md5sums) as an expected package update, of low severity. Needs md5 checksums]' \
'--syslog[Also send the summary and every finding to syslog (journald), facility authpriv, each finding at the priority of its severity (critical\: crit, high\: err, medium\: warning, low\: notice)]' \
'--allow-incomplete[\`update\` only\: write the new baseline even though this scan could not see everything (a directory not listed completely, an entry that could not be looked at, a file that could not be read), keeping the old records of what it could not see. Without it, \`update\` leaves the baseline as it was after such a scan]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'::baseline -- The baseline to check against (default\: the config file'\''s `baseline`):_files' \
'*::paths -- Scan these sources instead of the ones recorded in the baseline:_default' \
&& ret=0
;;
(update)
_arguments "${_arguments_options[@]}" : \
'--format=[]:FORMAT:((human\:"A summary, then one line per change, most severe first (colour on a terminal)"
rsync\:"The lines \`rsync -a --delete --checksum --out-format="%n %C" NEW/ OLD-COPY/\` prints"
itemize\:"The same with \`--out-format="%i %n %C"\`\: also attribute-only changes"
json\:"One JSON object per line (docs/json.md)"
ecs\:"Elastic Common Schema documents, one per line, as Auditbeat'\''s file_integrity module writes them (docs/siem.md)"
ocsf\:"OCSF File System Activity events, one per line (docs/siem.md)"))' \
'--verify-key=[Require a valid signature by this public key (NAME.pub), checked before any entry is read; a missing or bad signature, or one by another key, is an error (exit 65). \`check\` and \`update\` take the config file'\''s \`verify_key\` when this is not given]:FILE:_files' \
'--expect-host=[With --verify-key\: the baseline must have been made on host NAME]:NAME:_default' \
'--min-generation=[With --verify-key\: the baseline'\''s generation must be at least N (refuses an older baseline played back)]:N:_default' \
'--threads=[Hashing threads, at most 1024 (default, or 0\: one per core)]:N:_default' \
'--kernel=[MD5 implementation\: auto (the best this CPU has), scalar, avx2 or avx512 (a kernel the CPU lacks is an error). The digests are the same with every kernel]:KERNEL:_default' \
'--quick-sample=[With --quick, still rehash about this percentage of the trusted files, at random]:PERCENT:_default' \
'--config=[The config file (default /etc/fimsum.toml if it exists, else the built-in policy\: \`fimsum config --default\` prints it)]:FILE:_files' \
'*--ioc=[A list of known-bad hashes (one per line, md5sum/sha256sum format, or CSV with md5/sha1/sha256 columns such as MalwareBazaar'\''s); a file on it is critical and sets exit bit 16. Repeatable; added to the config file'\''s \`ioc\` lists]:FILE:_files' \
'--syslog-socket=[The syslog socket]:PATH:_files' \
'--sign-key=[Sign the new baseline with this secret key (default\: the config file'\''s \`sign_key\`). Needed to update a signed baseline\: it is never replaced by an unsigned one]:FILE:_files' \
'--generation=[Give the new baseline generation N instead of one more than the baseline it replaces. A signed baseline continues only a baseline that its key signed\: over anything else, say where to start (above any generation a verifier accepted)]:N:_default' \
'(-v --verbose)-q[No progress display (it is shown only when stderr is a terminal anyway)]' \
'(-v --verbose)--quiet[No progress display (it is shown only when stderr is a terminal anyway)]' \
'-v[List every entry on stderr as it is done]' \
'--verbose[List every entry on stderr as it is done]' \
'--no-attrs[Do not record security attributes (capabilities, inode flags, ACLs, SELinux label, xattrs)\: two system calls fewer per file; a check reports them "not recorded"]' \
'--quick[Take a file'\''s checksum from the baseline, without reading the file, when its device, inode, size, mtime and ctime are all unchanged (ctime cannot be set back by a user)]' \
'--copy[The tree is a copy of the one the baseline describes (a forensic copy, a restored backup, \`rsync -aHAX\`)\: compare only what a faithful copy keeps (content, type, mode, owner, group, size, mtime, symlink target, device numbers), not the ctime, inode or link count, which every copy changes. Cannot be combined with --quick, which trusts the ctime]' \
'--packages[Mark a changed file whose new content is what its Debian package ships (dpkg'\''s md5sums) as an expected package update, of low severity. Needs md5 checksums]' \
'--syslog[Also send the summary and every finding to syslog (journald), facility authpriv, each finding at the priority of its severity (critical\: crit, high\: err, medium\: warning, low\: notice)]' \
'--allow-incomplete[\`update\` only\: write the new baseline even though this scan could not see everything (a directory not listed completely, an entry that could not be looked at, a file that could not be read), keeping the old records of what it could not see. Without it, \`update\` leaves the baseline as it was after such a scan]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'::baseline -- The baseline to check against (default\: the config file'\''s `baseline`):_files' \
'*::paths -- Scan these sources instead of the ones recorded in the baseline:_default' \
&& ret=0
;;
(config)
_arguments "${_arguments_options[@]}" : \
'--config=[The config file (default /etc/fimsum.toml if it exists, else the built-in policy\: \`fimsum config --default\` prints it)]:FILE:_files' \
'--default[Print the built-in default config (a commented TOML file to start from)]' \
'-h[Print help]' \
'--help[Print help]' \
&& ret=0
;;
(diff)
_arguments "${_arguments_options[@]}" : \
'--format=[]:FORMAT:((human\:"A summary, then one line per change, most severe first (colour on a terminal)"
rsync\:"The lines \`rsync -a --delete --checksum --out-format="%n %C" NEW/ OLD-COPY/\` prints"
itemize\:"The same with \`--out-format="%i %n %C"\`\: also attribute-only changes"
json\:"One JSON object per line (docs/json.md)"
ecs\:"Elastic Common Schema documents, one per line, as Auditbeat'\''s file_integrity module writes them (docs/siem.md)"
ocsf\:"OCSF File System Activity events, one per line (docs/siem.md)"))' \
'--config=[The config file (default /etc/fimsum.toml if it exists, else the built-in policy\: \`fimsum config --default\` prints it)]:FILE:_files' \
'--checksum-choice=[The algorithm of rsync logs'\'' checksums. Their width only narrows it down (32 digits are md5, md4 or xxh128), so without it a file under --source or --dest decides, or the run is refused]:ALGO:_default' \
'--cc=[The algorithm of rsync logs'\'' checksums. Their width only narrows it down (32 digits are md5, md4 or xxh128), so without it a file under --source or --dest decides, or the run is refused]:ALGO:_default' \
'--source=[The backup job'\''s source argument (\`/etc/\` or \`/etc\`, as the job gave it)\: the logs'\'' names are judged as the absolute paths under it, and its files can tell the algorithm]:PATH:_files' \
'--dest=[The destination the logs were written for (the backup copy)\: its files can tell the algorithm]:DIR:_files' \
'--log-format=[The \`--log-file-format\` (or \`--out-format\`) the job wrote its lines in, for formats with fields beyond \`%i\`, \`%n\`, \`%L\` and \`%C\` (such as \`%o %i %B %n%L %C\`)]:FORMAT:_default' \
'*--ioc=[A list of known-bad hashes (one per line, md5sum/sha256sum format, or CSV with md5/sha1/sha256 columns such as MalwareBazaar'\''s); a file on it is critical and sets exit bit 16. Repeatable; added to the config file'\''s \`ioc\` lists]:FILE:_files' \
'--syslog-socket=[The syslog socket]:PATH:_files' \
'--verify-key=[Require a valid signature by this public key (NAME.pub), checked before any entry is read; a missing or bad signature, or one by another key, is an error (exit 65). \`check\` and \`update\` take the config file'\''s \`verify_key\` when this is not given]:FILE:_files' \
'--expect-host=[With --verify-key\: the baseline must have been made on host NAME]:NAME:_default' \
'--min-generation=[With --verify-key\: the baseline'\''s generation must be at least N (refuses an older baseline played back)]:N:_default' \
'(--incremental)--full[A log whose lines do not prove what it is lists the whole tree (a copy into an empty destination)]' \
'--incremental[A log whose lines do not prove what it is lists one night'\''s changes (an update of an earlier copy)\: what it does not list is unchanged]' \
'--syslog[Also send the summary and every finding to syslog (journald), facility authpriv, each finding at the priority of its severity (critical\: crit, high\: err, medium\: warning, low\: notice)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
':old -- The older baseline or rsync log:_files' \
':new -- The newer baseline or rsync log:_files' \
&& ret=0
;;
(show)
_arguments "${_arguments_options[@]}" : \
'--verify-key=[Require a valid signature by this public key (NAME.pub), checked before any entry is read; a missing or bad signature, or one by another key, is an error (exit 65). \`check\` and \`update\` take the config file'\''s \`verify_key\` when this is not given]:FILE:_files' \
'--expect-host=[With --verify-key\: the baseline must have been made on host NAME]:NAME:_default' \
'--min-generation=[With --verify-key\: the baseline'\''s generation must be at least N (refuses an older baseline played back)]:N:_default' \
'-h[Print help]' \
'--help[Print help]' \
':baseline:_files' \
&& ret=0
;;
(import)
_arguments "${_arguments_options[@]}" : \
'--base=[The baseline of the state before the first log\: its nights are replayed onto it, and what they do not list is kept unchanged]:FILE:_files' \
'-o+[The baseline to write]:FILE:_files' \
'--output=[The baseline to write]:FILE:_files' \
'--checksum-choice=[The algorithm of rsync logs'\'' checksums. Their width only narrows it down (32 digits are md5, md4 or xxh128), so without it a file under --source or --dest decides, or the run is refused]:ALGO:_default' \
'--cc=[The algorithm of rsync logs'\'' checksums. Their width only narrows it down (32 digits are md5, md4 or xxh128), so without it a file under --source or --dest decides, or the run is refused]:ALGO:_default' \
'--source=[The backup job'\''s source argument (\`/etc/\` or \`/etc\`, as the job gave it)\: the logs'\'' names are judged as the absolute paths under it, and its files can tell the algorithm]:PATH:_files' \
'--dest=[The destination the logs were written for (the backup copy)\: its files can tell the algorithm]:DIR:_files' \
'--log-format=[The \`--log-file-format\` (or \`--out-format\`) the job wrote its lines in, for formats with fields beyond \`%i\`, \`%n\`, \`%L\` and \`%C\` (such as \`%o %i %B %n%L %C\`)]:FORMAT:_default' \
'--sign-key=[Sign the baseline with this secret key (NAME.key of \`fimsum key generate\`)]:FILE:_files' \
'--generation=[Give the new baseline generation N instead of one more than the baseline it replaces. A signed baseline continues only a baseline that its key signed\: over anything else, say where to start (above any generation a verifier accepted)]:N:_default' \
'--verify-key=[Require a valid signature by this public key (NAME.pub), checked before any entry is read; a missing or bad signature, or one by another key, is an error (exit 65). \`check\` and \`update\` take the config file'\''s \`verify_key\` when this is not given]:FILE:_files' \
'--expect-host=[With --verify-key\: the baseline must have been made on host NAME]:NAME:_default' \
'--min-generation=[With --verify-key\: the baseline'\''s generation must be at least N (refuses an older baseline played back)]:N:_default' \
'(--incremental)--full[A log whose lines do not prove what it is lists the whole tree (a copy into an empty destination)]' \
'--incremental[A log whose lines do not prove what it is lists one night'\''s changes (an update of an earlier copy)\: what it does not list is unchanged]' \
'-h[Print help]' \
'--help[Print help]' \
'*::logs -- rsync logs, oldest first\: a full listing, or nights (one run'\''s changes each) applied in order onto --base. Any form rsync writes\: `--out-format` with `%n`, `%C`, `%i`, `%L`, `-v` chatter, `--stats`, `--log-file` lines, several runs appended:_files' \
&& ret=0
;;
(key)
_arguments "${_arguments_options[@]}" : \
'-h[Print help]' \
'--help[Print help]' \
":: :_fimsum__subcmd__key_commands" \
"*::: :->key" \
&& ret=0

    case $state in
    (key)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:fimsum-key-command-$line[1]:"
        case $line[1] in
            (generate)
_arguments "${_arguments_options[@]}" : \
'-h[Print help]' \
'--help[Print help]' \
':name -- The key files'\'' path without extension, e.g. `/media/usb/web1`:_files' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_fimsum__subcmd__key__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:fimsum-key-help-command-$line[1]:"
        case $line[1] in
            (generate)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
;;
(export)
_arguments "${_arguments_options[@]}" : \
'--format=[The table format]:FORMAT:((parquet\:"Apache Parquet, zstd-compressed"))' \
'-o+[The file to write (replaced only by a complete export); with --partition, the directory of the tree]:FILE:_files' \
'--output=[The file to write (replaced only by a complete export); with --partition, the directory of the tree]:FILE:_files' \
'--verify-key=[Require a valid signature by this public key (NAME.pub), checked before any entry is read; a missing or bad signature, or one by another key, is an error (exit 65). \`check\` and \`update\` take the config file'\''s \`verify_key\` when this is not given]:FILE:_files' \
'--expect-host=[With --verify-key\: the baseline must have been made on host NAME]:NAME:_default' \
'--min-generation=[With --verify-key\: the baseline'\''s generation must be at least N (refuses an older baseline played back)]:N:_default' \
'--partition[Write one file per baseline under OUTPUT/host=NAME/date=YYYY-MM-DD/ (Hive-style partitions, which DuckDB, Spark and Athena prune by)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'*::baselines -- The baselines, in the order their rows are written:_files' \
&& ret=0
;;
(hunt)
_arguments "${_arguments_options[@]}" : \
'*--ioc=[A list of known-bad hashes (the formats of \`check --ioc\`). Repeatable]:FILE:_files' \
'--format=[]:FORMAT:((human\:"One line per finding"
json\:"One JSON object per line (docs/json.md)"))' \
'--verify-key=[Require a valid signature by this public key (NAME.pub), checked before any entry is read; a missing or bad signature, or one by another key, is an error (exit 65). \`check\` and \`update\` take the config file'\''s \`verify_key\` when this is not given]:FILE:_files' \
'--expect-host=[With --verify-key\: the baseline must have been made on host NAME]:NAME:_default' \
'--min-generation=[With --verify-key\: the baseline'\''s generation must be at least N (refuses an older baseline played back)]:N:_default' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'*::baselines -- The baselines to search:_files' \
&& ret=0
;;
(verify-packages)
_arguments "${_arguments_options[@]}" : \
'--root=[Check the Debian-like system mounted at DIR\: its dpkg database and its files, with every path resolved inside DIR (absolute symlinks too)]:DIR:_files' \
'--format=[]:FORMAT:((human\:"One line per finding"
json\:"One JSON object per line (docs/json.md)"))' \
'--threads=[Hashing threads, at most 1024 (default, or 0\: one per core)]:N:_default' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
&& ret=0
;;
(man)
_arguments "${_arguments_options[@]}" : \
'-h[Print help]' \
'--help[Print help]' \
'::command:_default' \
&& ret=0
;;
(completions)
_arguments "${_arguments_options[@]}" : \
'-h[Print help]' \
'--help[Print help]' \
':shell:(bash elvish fish powershell zsh)' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_fimsum__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:fimsum-help-command-$line[1]:"
        case $line[1] in
            (scan)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(init)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(check)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(update)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(config)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(diff)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(show)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(import)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(key)
_arguments "${_arguments_options[@]}" : \
":: :_fimsum__subcmd__help__subcmd__key_commands" \
"*::: :->key" \
&& ret=0

    case $state in
    (key)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:fimsum-help-key-command-$line[1]:"
        case $line[1] in
            (generate)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
(export)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(hunt)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(verify-packages)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(man)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(completions)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
}

(( $+functions[_fimsum_commands] )) ||
_fimsum_commands() {
    local commands; commands=(
'scan:Print \`%n %C\` lines for the sources, byte for byte as rsync does, or write a baseline' \
'init:Scan the roots of the config file and write its baseline (the first run on a host)' \
'check:Rescan a baseline'\''s sources (or PATHs) and report what changed since, by severity; without BASELINE, the config file'\''s' \
'update:\`check\`, then make the new scan the baseline (keeping the previous ones)' \
'config:Print the built-in default config, or check a config file' \
'diff:Compare two baselines; either may be an rsync \`%n %C\` log instead' \
'show:Print a baseline as \`%n %C\` lines' \
'import:Turn an rsync \`%n %C\` log into a baseline' \
'key:Manage the Ed25519 keys that sign baselines' \
'export:Write stored baselines as one Parquet table (a row per entry per baseline) for fleet-wide queries in DuckDB, Spark or Athena (docs/siem.md)' \
'hunt:Search stored baselines for files on IOC lists, without rescanning\: every entry whose recorded digest is listed, with its host, path and baseline time. Exit 16 on a hit, 8 when a baseline could not be searched (unreadable, not verified, or without a digest of the lists'\'' kinds)' \
'verify-packages:Check every package file offline like debsums, plus what debsums misses (type, mode, owner)' \
'man:Print the man page (roff), generated from these very options\: fimsum(1), or fimsum-COMMAND(1) for one command' \
'completions:Print a shell completion script' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'fimsum commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__check_commands] )) ||
_fimsum__subcmd__check_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum check commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__completions_commands] )) ||
_fimsum__subcmd__completions_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum completions commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__config_commands] )) ||
_fimsum__subcmd__config_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum config commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__diff_commands] )) ||
_fimsum__subcmd__diff_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum diff commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__export_commands] )) ||
_fimsum__subcmd__export_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum export commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__help_commands] )) ||
_fimsum__subcmd__help_commands() {
    local commands; commands=(
'scan:Print \`%n %C\` lines for the sources, byte for byte as rsync does, or write a baseline' \
'init:Scan the roots of the config file and write its baseline (the first run on a host)' \
'check:Rescan a baseline'\''s sources (or PATHs) and report what changed since, by severity; without BASELINE, the config file'\''s' \
'update:\`check\`, then make the new scan the baseline (keeping the previous ones)' \
'config:Print the built-in default config, or check a config file' \
'diff:Compare two baselines; either may be an rsync \`%n %C\` log instead' \
'show:Print a baseline as \`%n %C\` lines' \
'import:Turn an rsync \`%n %C\` log into a baseline' \
'key:Manage the Ed25519 keys that sign baselines' \
'export:Write stored baselines as one Parquet table (a row per entry per baseline) for fleet-wide queries in DuckDB, Spark or Athena (docs/siem.md)' \
'hunt:Search stored baselines for files on IOC lists, without rescanning\: every entry whose recorded digest is listed, with its host, path and baseline time. Exit 16 on a hit, 8 when a baseline could not be searched (unreadable, not verified, or without a digest of the lists'\'' kinds)' \
'verify-packages:Check every package file offline like debsums, plus what debsums misses (type, mode, owner)' \
'man:Print the man page (roff), generated from these very options\: fimsum(1), or fimsum-COMMAND(1) for one command' \
'completions:Print a shell completion script' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'fimsum help commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__help__subcmd__check_commands] )) ||
_fimsum__subcmd__help__subcmd__check_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum help check commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__help__subcmd__completions_commands] )) ||
_fimsum__subcmd__help__subcmd__completions_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum help completions commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__help__subcmd__config_commands] )) ||
_fimsum__subcmd__help__subcmd__config_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum help config commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__help__subcmd__diff_commands] )) ||
_fimsum__subcmd__help__subcmd__diff_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum help diff commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__help__subcmd__export_commands] )) ||
_fimsum__subcmd__help__subcmd__export_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum help export commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__help__subcmd__help_commands] )) ||
_fimsum__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum help help commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__help__subcmd__hunt_commands] )) ||
_fimsum__subcmd__help__subcmd__hunt_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum help hunt commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__help__subcmd__import_commands] )) ||
_fimsum__subcmd__help__subcmd__import_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum help import commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__help__subcmd__init_commands] )) ||
_fimsum__subcmd__help__subcmd__init_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum help init commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__help__subcmd__key_commands] )) ||
_fimsum__subcmd__help__subcmd__key_commands() {
    local commands; commands=(
'generate:Write a new key pair\: NAME.key (secret, mode 0600) and NAME.pub (public). Never overwrites either file' \
    )
    _describe -t commands 'fimsum help key commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__help__subcmd__key__subcmd__generate_commands] )) ||
_fimsum__subcmd__help__subcmd__key__subcmd__generate_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum help key generate commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__help__subcmd__man_commands] )) ||
_fimsum__subcmd__help__subcmd__man_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum help man commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__help__subcmd__scan_commands] )) ||
_fimsum__subcmd__help__subcmd__scan_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum help scan commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__help__subcmd__show_commands] )) ||
_fimsum__subcmd__help__subcmd__show_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum help show commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__help__subcmd__update_commands] )) ||
_fimsum__subcmd__help__subcmd__update_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum help update commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__help__subcmd__verify-packages_commands] )) ||
_fimsum__subcmd__help__subcmd__verify-packages_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum help verify-packages commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__hunt_commands] )) ||
_fimsum__subcmd__hunt_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum hunt commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__import_commands] )) ||
_fimsum__subcmd__import_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum import commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__init_commands] )) ||
_fimsum__subcmd__init_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum init commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__key_commands] )) ||
_fimsum__subcmd__key_commands() {
    local commands; commands=(
'generate:Write a new key pair\: NAME.key (secret, mode 0600) and NAME.pub (public). Never overwrites either file' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'fimsum key commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__key__subcmd__generate_commands] )) ||
_fimsum__subcmd__key__subcmd__generate_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum key generate commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__key__subcmd__help_commands] )) ||
_fimsum__subcmd__key__subcmd__help_commands() {
    local commands; commands=(
'generate:Write a new key pair\: NAME.key (secret, mode 0600) and NAME.pub (public). Never overwrites either file' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'fimsum key help commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__key__subcmd__help__subcmd__generate_commands] )) ||
_fimsum__subcmd__key__subcmd__help__subcmd__generate_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum key help generate commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__key__subcmd__help__subcmd__help_commands] )) ||
_fimsum__subcmd__key__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum key help help commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__man_commands] )) ||
_fimsum__subcmd__man_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum man commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__scan_commands] )) ||
_fimsum__subcmd__scan_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum scan commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__show_commands] )) ||
_fimsum__subcmd__show_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum show commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__update_commands] )) ||
_fimsum__subcmd__update_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum update commands' commands "$@"
}
(( $+functions[_fimsum__subcmd__verify-packages_commands] )) ||
_fimsum__subcmd__verify-packages_commands() {
    local commands; commands=()
    _describe -t commands 'fimsum verify-packages commands' commands "$@"
}

if [ "$funcstack[1]" = "_fimsum" ]; then
    _fimsum "$@"
else
    compdef _fimsum fimsum
fi
