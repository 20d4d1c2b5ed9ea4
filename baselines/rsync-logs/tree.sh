# Day-0 tree; run inside an empty src dir.
mkdir -p dir/sub gone/deep 'sp ace'
printf 'alpha\n' >a.txt
printf 'bravo\n' >b.txt
printf 'charlie\n' >'sp ace/c d.txt'
printf 'newline\n' >"$(printf 'nl\nname')"
printf 'high byte\n' >"$(printf 'hi\377byte')"
printf 'foxtrot\n' >dir/f.txt
printf 'golf\n' >dir/sub/g.txt
printf 'hotel\n' >gone/h.txt
printf 'india\n' >gone/deep/i.txt
ln -s a.txt lnk
find . -exec touch -h -d @1600000000 {} +
