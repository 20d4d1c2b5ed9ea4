# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_fimsum_global_optspecs
    string join \n h/help V/version
end

function __fish_fimsum_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_fimsum_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_fimsum_using_subcommand
    set -l cmd (__fish_fimsum_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c fimsum -n "__fish_fimsum_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fimsum -n "__fish_fimsum_needs_command" -s V -l version -d 'Print version'
complete -c fimsum -n "__fish_fimsum_needs_command" -f -a "scan" -d 'Print `%n %C` lines for the sources, byte for byte as rsync does, or write a baseline'
complete -c fimsum -n "__fish_fimsum_needs_command" -f -a "init" -d 'Scan the roots of the config file and write its baseline (the first run on a host)'
complete -c fimsum -n "__fish_fimsum_needs_command" -f -a "check" -d 'Rescan a baseline\'s sources (or PATHs) and report what changed since, by severity; without BASELINE, the config file\'s'
complete -c fimsum -n "__fish_fimsum_needs_command" -f -a "update" -d '`check`, then make the new scan the baseline (keeping the previous ones)'
complete -c fimsum -n "__fish_fimsum_needs_command" -f -a "config" -d 'Print the built-in default config, or check a config file'
complete -c fimsum -n "__fish_fimsum_needs_command" -f -a "diff" -d 'Compare two baselines; either may be an rsync `%n %C` log instead'
complete -c fimsum -n "__fish_fimsum_needs_command" -f -a "show" -d 'Print a baseline as `%n %C` lines'
complete -c fimsum -n "__fish_fimsum_needs_command" -f -a "import" -d 'Turn an rsync `%n %C` log into a baseline'
complete -c fimsum -n "__fish_fimsum_needs_command" -f -a "key" -d 'Manage the Ed25519 keys that sign baselines'
complete -c fimsum -n "__fish_fimsum_needs_command" -f -a "export" -d 'Write stored baselines as one Parquet table (a row per entry per baseline) for fleet-wide queries in DuckDB, Spark or Athena (docs/siem.md)'
complete -c fimsum -n "__fish_fimsum_needs_command" -f -a "hunt" -d 'Search stored baselines for files on IOC lists, without rescanning: every entry whose recorded digest is listed, with its host, path and baseline time. Exit 16 on a hit, 8 when a baseline could not be searched (unreadable, not verified, or without a digest of the lists\' kinds)'
complete -c fimsum -n "__fish_fimsum_needs_command" -f -a "verify-packages" -d 'Check every package file offline like debsums, plus what debsums misses (type, mode, owner)'
complete -c fimsum -n "__fish_fimsum_needs_command" -f -a "man" -d 'Print the man page (roff), generated from these very options: fimsum(1), or fimsum-COMMAND(1) for one command'
complete -c fimsum -n "__fish_fimsum_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c fimsum -n "__fish_fimsum_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l checksum-choice -l cc -d 'Checksum algorithm, as rsync\'s --checksum-choice' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -s o -l output -d 'Write a baseline to FILE instead of printing lines' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l digest -d 'Also compute these digests of every file, from the same read: md5, sha1, sha256 (comma-separated or repeated). With -o the baseline records them and `check` compares them too; without, they serve only to match --ioc lists, and stdout stays rsync\'s lines' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l sign-key -d 'Sign the baseline with this secret key (NAME.key of `fimsum key generate`)' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l generation -d 'Give the new baseline generation N instead of one more than the baseline it replaces. A signed baseline continues only a baseline that its key signed: over anything else, say where to start (above any generation a verifier accepted)' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l ioc -d 'A list of known-bad hashes (one per line, md5sum/sha256sum format, or CSV with md5/sha1/sha256 columns such as MalwareBazaar\'s); a file on it is critical and sets exit bit 16. Repeatable; added to the config file\'s `ioc` lists' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l exclude -d 'Exclude entries matching PATTERN (rsync pattern rules)' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l include -d 'Don\'t exclude entries matching PATTERN (rules apply in command-line order)' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l exclude-from -d 'Read exclude patterns from FILE' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -s f -l filter -d 'A filter RULE in rsync\'s syntax: `- PATTERN`, `+ PATTERN`, `hide`, `show`, `!`, and `. FILE` (merge FILE\'s rules here); protect and risk rules change no listing. `:`/`dir-merge FILE` reads FILE in every directory (docs/listing.md)' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l include-from -d 'Read include patterns from FILE (rules apply in command-line order)' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l files-from -d 'List exactly the names in FILE, relative to the one source directory, with the directories above them (rsync\'s implied -R); a listed directory is entered only with -r, which -a does not imply here' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l max-size -d 'Leave out regular files larger than SIZE (rsync\'s units: 100, 10k, 1.5M, 1MB, 1G-1)' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l min-size -d 'Leave out regular files smaller than SIZE' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l threads -d 'Hashing threads, at most 1024 (default, or 0: one per core)' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l kernel -d 'MD5 implementation: auto (the best this CPU has), scalar, avx2 or avx512 (a kernel the CPU lacks is an error). The digests are the same with every kernel' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -s x -l one-file-system -d 'Don\'t cross filesystem boundaries: a mount point is listed, not entered; given twice (-xx), mount points are left out too'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -s F -d 'Read per-directory .rsync-filter files (--filter=\'dir-merge /.rsync-filter\'); given twice, also leave them out (--filter=\'- .rsync-filter\')'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -s C -l cvs-exclude -d 'Leave out what CVS ignores: rsync\'s default list, $HOME/.cvsignore, $CVSIGNORE and each directory\'s .cvsignore, after all other rules'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -s 0 -l from0 -d 'The --exclude-from, --include-from and --files-from files are NUL-separated'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -s R -l relative -d 'Name each entry by its path as given (rsync\'s -R): the directories above a source are listed too, and a `/./` in a source says where that path starts (`a/./b/c` lists `b/c` from `a`)'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l no-implied-dirs -d 'With --files-from or -R: list only the names, not the directories above them'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -s a -l archive -d 'rsync\'s -a: -rlptgoD (the default when none of these options is given)'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -s r -l recursive -d 'Enter directories (rsync\'s -r)'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l no-recursive -l no-r -d 'Do not enter directories'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -s l -l links -d 'List symlinks (rsync\'s -l); without it they are `skipping non-regular file` lines'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l no-links -l no-l -d 'Do not list symlinks'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -s D -d '--devices --specials'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l no-D -d '--no-devices --no-specials'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l devices -d 'List character and block devices'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l no-devices -d 'Do not list devices'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l specials -d 'List FIFOs and sockets'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l no-specials -d 'Do not list FIFOs and sockets'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -s t -l times -d 'rsync\'s -t: changes no entry; rsync then prints the root\'s `./` line'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -s p -l perms -d 'rsync\'s -p: changes no entry; rsync then prints `./` for a root not of mode 755'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -s g -l group -d 'rsync\'s -g: changes no entry; rsync then prints `./` for a root of another group'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l owner -d 'rsync\'s -o: changes no entry; rsync (as root) then prints `./` for a root of another owner'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -s L -l copy-links -d 'Follow every symlink: list it as the file or directory it leads to (rsync\'s -L)'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l copy-unsafe-links -d 'Follow the symlinks that lead outside the transfer (absolute, or climbing above the source root), as rsync counts them'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l safe-links -d 'Leave out symlinks that lead outside the transfer'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -s H -l hard-links -d 'Print the names of one inode where rsync\'s -H prints them: each group at its last name, the others after it latest first (docs/listing.md). -a does not imply it'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l no-hard-links -l no-H -d 'Undo an earlier -H (the last of -H and --no-H counts)'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -s n -l dry-run -d 'rsync\'s -n: accepted and changes nothing, since fimsum never copies anything'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -s k -l copy-dirlinks -d 'Not implemented (rsync\'s -k, --copy-dirlinks)'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -s m -l prune-empty-dirs -d 'Not implemented (rsync\'s -m, --prune-empty-dirs)'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -s q -l quiet -d 'No progress display (it is shown only when stderr is a terminal anyway)'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -s v -l verbose -d 'List every entry on stderr as it is done'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -l no-attrs -d 'Do not record security attributes (capabilities, inode flags, ACLs, SELinux label, xattrs): two system calls fewer per file; a check reports them "not recorded"'
complete -c fimsum -n "__fish_fimsum_using_subcommand scan" -s h -l help -d 'Print help'
complete -c fimsum -n "__fish_fimsum_using_subcommand init" -l config -d 'The config file (default /etc/fimsum.toml if it exists, else the built-in policy: `fimsum config --default` prints it)' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand init" -l sign-key -d 'Sign the baseline with this secret key (default: the config file\'s `sign_key`)' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand init" -l generation -d 'Give the new baseline generation N instead of one more than the baseline it replaces. A signed baseline continues only a baseline that its key signed: over anything else, say where to start (above any generation a verifier accepted)' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand init" -l threads -d 'Hashing threads, at most 1024 (default, or 0: one per core)' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand init" -l kernel -d 'MD5 implementation: auto (the best this CPU has), scalar, avx2 or avx512 (a kernel the CPU lacks is an error). The digests are the same with every kernel' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand init" -l force -d 'Replace an existing baseline (`update` is the way to accept changes after a check)'
complete -c fimsum -n "__fish_fimsum_using_subcommand init" -s q -l quiet -d 'No progress display (it is shown only when stderr is a terminal anyway)'
complete -c fimsum -n "__fish_fimsum_using_subcommand init" -s v -l verbose -d 'List every entry on stderr as it is done'
complete -c fimsum -n "__fish_fimsum_using_subcommand init" -l no-attrs -d 'Do not record security attributes (capabilities, inode flags, ACLs, SELinux label, xattrs): two system calls fewer per file; a check reports them "not recorded"'
complete -c fimsum -n "__fish_fimsum_using_subcommand init" -s h -l help -d 'Print help'
complete -c fimsum -n "__fish_fimsum_using_subcommand check" -l format -r -f -a "human\t'A summary, then one line per change, most severe first (colour on a terminal)'
rsync\t'The lines `rsync -a --delete --checksum --out-format="%n %C" NEW/ OLD-COPY/` prints'
itemize\t'The same with `--out-format="%i %n %C"`: also attribute-only changes'
json\t'One JSON object per line (docs/json.md)'
ecs\t'Elastic Common Schema documents, one per line, as Auditbeat\'s file_integrity module writes them (docs/siem.md)'
ocsf\t'OCSF File System Activity events, one per line (docs/siem.md)'"
complete -c fimsum -n "__fish_fimsum_using_subcommand check" -l verify-key -d 'Require a valid signature by this public key (NAME.pub), checked before any entry is read; a missing or bad signature, or one by another key, is an error (exit 65). `check` and `update` take the config file\'s `verify_key` when this is not given' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand check" -l expect-host -d 'With --verify-key: the baseline must have been made on host NAME' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand check" -l min-generation -d 'With --verify-key: the baseline\'s generation must be at least N (refuses an older baseline played back)' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand check" -l threads -d 'Hashing threads, at most 1024 (default, or 0: one per core)' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand check" -l kernel -d 'MD5 implementation: auto (the best this CPU has), scalar, avx2 or avx512 (a kernel the CPU lacks is an error). The digests are the same with every kernel' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand check" -l quick-sample -d 'With --quick, still rehash about this percentage of the trusted files, at random' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand check" -l config -d 'The config file (default /etc/fimsum.toml if it exists, else the built-in policy: `fimsum config --default` prints it)' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand check" -l ioc -d 'A list of known-bad hashes (one per line, md5sum/sha256sum format, or CSV with md5/sha1/sha256 columns such as MalwareBazaar\'s); a file on it is critical and sets exit bit 16. Repeatable; added to the config file\'s `ioc` lists' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand check" -l syslog-socket -d 'The syslog socket' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand check" -s q -l quiet -d 'No progress display (it is shown only when stderr is a terminal anyway)'
complete -c fimsum -n "__fish_fimsum_using_subcommand check" -s v -l verbose -d 'List every entry on stderr as it is done'
complete -c fimsum -n "__fish_fimsum_using_subcommand check" -l no-attrs -d 'Do not record security attributes (capabilities, inode flags, ACLs, SELinux label, xattrs): two system calls fewer per file; a check reports them "not recorded"'
complete -c fimsum -n "__fish_fimsum_using_subcommand check" -l quick -d 'Take a file\'s checksum from the baseline, without reading the file, when its device, inode, size, mtime and ctime are all unchanged (ctime cannot be set back by a user)'
complete -c fimsum -n "__fish_fimsum_using_subcommand check" -l copy -d 'The tree is a copy of the one the baseline describes (a forensic copy, a restored backup, `rsync -aHAX`): compare only what a faithful copy keeps (content, type, mode, owner, group, size, mtime, symlink target, device numbers), not the ctime, inode or link count, which every copy changes. Cannot be combined with --quick, which trusts the ctime'
complete -c fimsum -n "__fish_fimsum_using_subcommand check" -l packages -d 'Mark a changed file whose new content is what its Debian package ships (dpkg\'s md5sums) as an expected package update, of low severity. Needs md5 checksums'
complete -c fimsum -n "__fish_fimsum_using_subcommand check" -l syslog -d 'Also send the summary and every finding to syslog (journald), facility authpriv, each finding at the priority of its severity (critical: crit, high: err, medium: warning, low: notice)'
complete -c fimsum -n "__fish_fimsum_using_subcommand check" -l allow-incomplete -d '`update` only: write the new baseline even though this scan could not see everything (a directory not listed completely, an entry that could not be looked at, a file that could not be read), keeping the old records of what it could not see. Without it, `update` leaves the baseline as it was after such a scan'
complete -c fimsum -n "__fish_fimsum_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fimsum -n "__fish_fimsum_using_subcommand update" -l format -r -f -a "human\t'A summary, then one line per change, most severe first (colour on a terminal)'
rsync\t'The lines `rsync -a --delete --checksum --out-format="%n %C" NEW/ OLD-COPY/` prints'
itemize\t'The same with `--out-format="%i %n %C"`: also attribute-only changes'
json\t'One JSON object per line (docs/json.md)'
ecs\t'Elastic Common Schema documents, one per line, as Auditbeat\'s file_integrity module writes them (docs/siem.md)'
ocsf\t'OCSF File System Activity events, one per line (docs/siem.md)'"
complete -c fimsum -n "__fish_fimsum_using_subcommand update" -l verify-key -d 'Require a valid signature by this public key (NAME.pub), checked before any entry is read; a missing or bad signature, or one by another key, is an error (exit 65). `check` and `update` take the config file\'s `verify_key` when this is not given' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand update" -l expect-host -d 'With --verify-key: the baseline must have been made on host NAME' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand update" -l min-generation -d 'With --verify-key: the baseline\'s generation must be at least N (refuses an older baseline played back)' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand update" -l threads -d 'Hashing threads, at most 1024 (default, or 0: one per core)' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand update" -l kernel -d 'MD5 implementation: auto (the best this CPU has), scalar, avx2 or avx512 (a kernel the CPU lacks is an error). The digests are the same with every kernel' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand update" -l quick-sample -d 'With --quick, still rehash about this percentage of the trusted files, at random' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand update" -l config -d 'The config file (default /etc/fimsum.toml if it exists, else the built-in policy: `fimsum config --default` prints it)' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand update" -l ioc -d 'A list of known-bad hashes (one per line, md5sum/sha256sum format, or CSV with md5/sha1/sha256 columns such as MalwareBazaar\'s); a file on it is critical and sets exit bit 16. Repeatable; added to the config file\'s `ioc` lists' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand update" -l syslog-socket -d 'The syslog socket' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand update" -l sign-key -d 'Sign the new baseline with this secret key (default: the config file\'s `sign_key`). Needed to update a signed baseline: it is never replaced by an unsigned one' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand update" -l generation -d 'Give the new baseline generation N instead of one more than the baseline it replaces. A signed baseline continues only a baseline that its key signed: over anything else, say where to start (above any generation a verifier accepted)' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand update" -s q -l quiet -d 'No progress display (it is shown only when stderr is a terminal anyway)'
complete -c fimsum -n "__fish_fimsum_using_subcommand update" -s v -l verbose -d 'List every entry on stderr as it is done'
complete -c fimsum -n "__fish_fimsum_using_subcommand update" -l no-attrs -d 'Do not record security attributes (capabilities, inode flags, ACLs, SELinux label, xattrs): two system calls fewer per file; a check reports them "not recorded"'
complete -c fimsum -n "__fish_fimsum_using_subcommand update" -l quick -d 'Take a file\'s checksum from the baseline, without reading the file, when its device, inode, size, mtime and ctime are all unchanged (ctime cannot be set back by a user)'
complete -c fimsum -n "__fish_fimsum_using_subcommand update" -l copy -d 'The tree is a copy of the one the baseline describes (a forensic copy, a restored backup, `rsync -aHAX`): compare only what a faithful copy keeps (content, type, mode, owner, group, size, mtime, symlink target, device numbers), not the ctime, inode or link count, which every copy changes. Cannot be combined with --quick, which trusts the ctime'
complete -c fimsum -n "__fish_fimsum_using_subcommand update" -l packages -d 'Mark a changed file whose new content is what its Debian package ships (dpkg\'s md5sums) as an expected package update, of low severity. Needs md5 checksums'
complete -c fimsum -n "__fish_fimsum_using_subcommand update" -l syslog -d 'Also send the summary and every finding to syslog (journald), facility authpriv, each finding at the priority of its severity (critical: crit, high: err, medium: warning, low: notice)'
complete -c fimsum -n "__fish_fimsum_using_subcommand update" -l allow-incomplete -d '`update` only: write the new baseline even though this scan could not see everything (a directory not listed completely, an entry that could not be looked at, a file that could not be read), keeping the old records of what it could not see. Without it, `update` leaves the baseline as it was after such a scan'
complete -c fimsum -n "__fish_fimsum_using_subcommand update" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fimsum -n "__fish_fimsum_using_subcommand config" -l config -d 'The config file (default /etc/fimsum.toml if it exists, else the built-in policy: `fimsum config --default` prints it)' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand config" -l default -d 'Print the built-in default config (a commented TOML file to start from)'
complete -c fimsum -n "__fish_fimsum_using_subcommand config" -s h -l help -d 'Print help'
complete -c fimsum -n "__fish_fimsum_using_subcommand diff" -l format -r -f -a "human\t'A summary, then one line per change, most severe first (colour on a terminal)'
rsync\t'The lines `rsync -a --delete --checksum --out-format="%n %C" NEW/ OLD-COPY/` prints'
itemize\t'The same with `--out-format="%i %n %C"`: also attribute-only changes'
json\t'One JSON object per line (docs/json.md)'
ecs\t'Elastic Common Schema documents, one per line, as Auditbeat\'s file_integrity module writes them (docs/siem.md)'
ocsf\t'OCSF File System Activity events, one per line (docs/siem.md)'"
complete -c fimsum -n "__fish_fimsum_using_subcommand diff" -l config -d 'The config file (default /etc/fimsum.toml if it exists, else the built-in policy: `fimsum config --default` prints it)' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand diff" -l checksum-choice -l cc -d 'The algorithm of rsync logs\' checksums. Their width only narrows it down (32 digits are md5, md4 or xxh128), so without it a file under --source or --dest decides, or the run is refused' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand diff" -l source -d 'The backup job\'s source argument (`/etc/` or `/etc`, as the job gave it): the logs\' names are judged as the absolute paths under it, and its files can tell the algorithm' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand diff" -l dest -d 'The destination the logs were written for (the backup copy): its files can tell the algorithm' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand diff" -l log-format -d 'The `--log-file-format` (or `--out-format`) the job wrote its lines in, for formats with fields beyond `%i`, `%n`, `%L` and `%C` (such as `%o %i %B %n%L %C`)' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand diff" -l ioc -d 'A list of known-bad hashes (one per line, md5sum/sha256sum format, or CSV with md5/sha1/sha256 columns such as MalwareBazaar\'s); a file on it is critical and sets exit bit 16. Repeatable; added to the config file\'s `ioc` lists' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand diff" -l syslog-socket -d 'The syslog socket' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand diff" -l verify-key -d 'Require a valid signature by this public key (NAME.pub), checked before any entry is read; a missing or bad signature, or one by another key, is an error (exit 65). `check` and `update` take the config file\'s `verify_key` when this is not given' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand diff" -l expect-host -d 'With --verify-key: the baseline must have been made on host NAME' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand diff" -l min-generation -d 'With --verify-key: the baseline\'s generation must be at least N (refuses an older baseline played back)' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand diff" -l full -d 'A log whose lines do not prove what it is lists the whole tree (a copy into an empty destination)'
complete -c fimsum -n "__fish_fimsum_using_subcommand diff" -l incremental -d 'A log whose lines do not prove what it is lists one night\'s changes (an update of an earlier copy): what it does not list is unchanged'
complete -c fimsum -n "__fish_fimsum_using_subcommand diff" -l syslog -d 'Also send the summary and every finding to syslog (journald), facility authpriv, each finding at the priority of its severity (critical: crit, high: err, medium: warning, low: notice)'
complete -c fimsum -n "__fish_fimsum_using_subcommand diff" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fimsum -n "__fish_fimsum_using_subcommand show" -l verify-key -d 'Require a valid signature by this public key (NAME.pub), checked before any entry is read; a missing or bad signature, or one by another key, is an error (exit 65). `check` and `update` take the config file\'s `verify_key` when this is not given' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand show" -l expect-host -d 'With --verify-key: the baseline must have been made on host NAME' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand show" -l min-generation -d 'With --verify-key: the baseline\'s generation must be at least N (refuses an older baseline played back)' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand show" -s h -l help -d 'Print help'
complete -c fimsum -n "__fish_fimsum_using_subcommand import" -l base -d 'The baseline of the state before the first log: its nights are replayed onto it, and what they do not list is kept unchanged' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand import" -s o -l output -d 'The baseline to write' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand import" -l checksum-choice -l cc -d 'The algorithm of rsync logs\' checksums. Their width only narrows it down (32 digits are md5, md4 or xxh128), so without it a file under --source or --dest decides, or the run is refused' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand import" -l source -d 'The backup job\'s source argument (`/etc/` or `/etc`, as the job gave it): the logs\' names are judged as the absolute paths under it, and its files can tell the algorithm' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand import" -l dest -d 'The destination the logs were written for (the backup copy): its files can tell the algorithm' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand import" -l log-format -d 'The `--log-file-format` (or `--out-format`) the job wrote its lines in, for formats with fields beyond `%i`, `%n`, `%L` and `%C` (such as `%o %i %B %n%L %C`)' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand import" -l sign-key -d 'Sign the baseline with this secret key (NAME.key of `fimsum key generate`)' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand import" -l generation -d 'Give the new baseline generation N instead of one more than the baseline it replaces. A signed baseline continues only a baseline that its key signed: over anything else, say where to start (above any generation a verifier accepted)' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand import" -l verify-key -d 'Require a valid signature by this public key (NAME.pub), checked before any entry is read; a missing or bad signature, or one by another key, is an error (exit 65). `check` and `update` take the config file\'s `verify_key` when this is not given' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand import" -l expect-host -d 'With --verify-key: the baseline must have been made on host NAME' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand import" -l min-generation -d 'With --verify-key: the baseline\'s generation must be at least N (refuses an older baseline played back)' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand import" -l full -d 'A log whose lines do not prove what it is lists the whole tree (a copy into an empty destination)'
complete -c fimsum -n "__fish_fimsum_using_subcommand import" -l incremental -d 'A log whose lines do not prove what it is lists one night\'s changes (an update of an earlier copy): what it does not list is unchanged'
complete -c fimsum -n "__fish_fimsum_using_subcommand import" -s h -l help -d 'Print help'
complete -c fimsum -n "__fish_fimsum_using_subcommand key; and not __fish_seen_subcommand_from generate help" -s h -l help -d 'Print help'
complete -c fimsum -n "__fish_fimsum_using_subcommand key; and not __fish_seen_subcommand_from generate help" -f -a "generate" -d 'Write a new key pair: NAME.key (secret, mode 0600) and NAME.pub (public). Never overwrites either file'
complete -c fimsum -n "__fish_fimsum_using_subcommand key; and not __fish_seen_subcommand_from generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fimsum -n "__fish_fimsum_using_subcommand key; and __fish_seen_subcommand_from generate" -s h -l help -d 'Print help'
complete -c fimsum -n "__fish_fimsum_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "generate" -d 'Write a new key pair: NAME.key (secret, mode 0600) and NAME.pub (public). Never overwrites either file'
complete -c fimsum -n "__fish_fimsum_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fimsum -n "__fish_fimsum_using_subcommand export" -l format -d 'The table format' -r -f -a "parquet\t'Apache Parquet, zstd-compressed'"
complete -c fimsum -n "__fish_fimsum_using_subcommand export" -s o -l output -d 'The file to write (replaced only by a complete export); with --partition, the directory of the tree' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand export" -l verify-key -d 'Require a valid signature by this public key (NAME.pub), checked before any entry is read; a missing or bad signature, or one by another key, is an error (exit 65). `check` and `update` take the config file\'s `verify_key` when this is not given' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand export" -l expect-host -d 'With --verify-key: the baseline must have been made on host NAME' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand export" -l min-generation -d 'With --verify-key: the baseline\'s generation must be at least N (refuses an older baseline played back)' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand export" -l partition -d 'Write one file per baseline under OUTPUT/host=NAME/date=YYYY-MM-DD/ (Hive-style partitions, which DuckDB, Spark and Athena prune by)'
complete -c fimsum -n "__fish_fimsum_using_subcommand export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fimsum -n "__fish_fimsum_using_subcommand hunt" -l ioc -d 'A list of known-bad hashes (the formats of `check --ioc`). Repeatable' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand hunt" -l format -r -f -a "human\t'One line per finding'
json\t'One JSON object per line (docs/json.md)'"
complete -c fimsum -n "__fish_fimsum_using_subcommand hunt" -l verify-key -d 'Require a valid signature by this public key (NAME.pub), checked before any entry is read; a missing or bad signature, or one by another key, is an error (exit 65). `check` and `update` take the config file\'s `verify_key` when this is not given' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand hunt" -l expect-host -d 'With --verify-key: the baseline must have been made on host NAME' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand hunt" -l min-generation -d 'With --verify-key: the baseline\'s generation must be at least N (refuses an older baseline played back)' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand hunt" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fimsum -n "__fish_fimsum_using_subcommand verify-packages" -l root -d 'Check the Debian-like system mounted at DIR: its dpkg database and its files, with every path resolved inside DIR (absolute symlinks too)' -r -F
complete -c fimsum -n "__fish_fimsum_using_subcommand verify-packages" -l format -r -f -a "human\t'One line per finding'
json\t'One JSON object per line (docs/json.md)'"
complete -c fimsum -n "__fish_fimsum_using_subcommand verify-packages" -l threads -d 'Hashing threads, at most 1024 (default, or 0: one per core)' -r
complete -c fimsum -n "__fish_fimsum_using_subcommand verify-packages" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c fimsum -n "__fish_fimsum_using_subcommand man" -s h -l help -d 'Print help'
complete -c fimsum -n "__fish_fimsum_using_subcommand completions" -s h -l help -d 'Print help'
complete -c fimsum -n "__fish_fimsum_using_subcommand help; and not __fish_seen_subcommand_from scan init check update config diff show import key export hunt verify-packages man completions help" -f -a "scan" -d 'Print `%n %C` lines for the sources, byte for byte as rsync does, or write a baseline'
complete -c fimsum -n "__fish_fimsum_using_subcommand help; and not __fish_seen_subcommand_from scan init check update config diff show import key export hunt verify-packages man completions help" -f -a "init" -d 'Scan the roots of the config file and write its baseline (the first run on a host)'
complete -c fimsum -n "__fish_fimsum_using_subcommand help; and not __fish_seen_subcommand_from scan init check update config diff show import key export hunt verify-packages man completions help" -f -a "check" -d 'Rescan a baseline\'s sources (or PATHs) and report what changed since, by severity; without BASELINE, the config file\'s'
complete -c fimsum -n "__fish_fimsum_using_subcommand help; and not __fish_seen_subcommand_from scan init check update config diff show import key export hunt verify-packages man completions help" -f -a "update" -d '`check`, then make the new scan the baseline (keeping the previous ones)'
complete -c fimsum -n "__fish_fimsum_using_subcommand help; and not __fish_seen_subcommand_from scan init check update config diff show import key export hunt verify-packages man completions help" -f -a "config" -d 'Print the built-in default config, or check a config file'
complete -c fimsum -n "__fish_fimsum_using_subcommand help; and not __fish_seen_subcommand_from scan init check update config diff show import key export hunt verify-packages man completions help" -f -a "diff" -d 'Compare two baselines; either may be an rsync `%n %C` log instead'
complete -c fimsum -n "__fish_fimsum_using_subcommand help; and not __fish_seen_subcommand_from scan init check update config diff show import key export hunt verify-packages man completions help" -f -a "show" -d 'Print a baseline as `%n %C` lines'
complete -c fimsum -n "__fish_fimsum_using_subcommand help; and not __fish_seen_subcommand_from scan init check update config diff show import key export hunt verify-packages man completions help" -f -a "import" -d 'Turn an rsync `%n %C` log into a baseline'
complete -c fimsum -n "__fish_fimsum_using_subcommand help; and not __fish_seen_subcommand_from scan init check update config diff show import key export hunt verify-packages man completions help" -f -a "key" -d 'Manage the Ed25519 keys that sign baselines'
complete -c fimsum -n "__fish_fimsum_using_subcommand help; and not __fish_seen_subcommand_from scan init check update config diff show import key export hunt verify-packages man completions help" -f -a "export" -d 'Write stored baselines as one Parquet table (a row per entry per baseline) for fleet-wide queries in DuckDB, Spark or Athena (docs/siem.md)'
complete -c fimsum -n "__fish_fimsum_using_subcommand help; and not __fish_seen_subcommand_from scan init check update config diff show import key export hunt verify-packages man completions help" -f -a "hunt" -d 'Search stored baselines for files on IOC lists, without rescanning: every entry whose recorded digest is listed, with its host, path and baseline time. Exit 16 on a hit, 8 when a baseline could not be searched (unreadable, not verified, or without a digest of the lists\' kinds)'
complete -c fimsum -n "__fish_fimsum_using_subcommand help; and not __fish_seen_subcommand_from scan init check update config diff show import key export hunt verify-packages man completions help" -f -a "verify-packages" -d 'Check every package file offline like debsums, plus what debsums misses (type, mode, owner)'
complete -c fimsum -n "__fish_fimsum_using_subcommand help; and not __fish_seen_subcommand_from scan init check update config diff show import key export hunt verify-packages man completions help" -f -a "man" -d 'Print the man page (roff), generated from these very options: fimsum(1), or fimsum-COMMAND(1) for one command'
complete -c fimsum -n "__fish_fimsum_using_subcommand help; and not __fish_seen_subcommand_from scan init check update config diff show import key export hunt verify-packages man completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c fimsum -n "__fish_fimsum_using_subcommand help; and not __fish_seen_subcommand_from scan init check update config diff show import key export hunt verify-packages man completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c fimsum -n "__fish_fimsum_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "generate" -d 'Write a new key pair: NAME.key (secret, mode 0600) and NAME.pub (public). Never overwrites either file'
