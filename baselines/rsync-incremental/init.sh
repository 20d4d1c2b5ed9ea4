# Initial tree of every incremental case; run inside an empty NEW dir.
mkdir -p d1/d2/d3 gone-dir/sub will-be-file
printf 'alpha\n' >a.txt
printf 'bravo\n' >b.txt
printf 'charlie\n' >c.txt
printf 'delta\n' >d1/d.txt
printf 'echo\n' >d1/d2/e.txt
printf 'foxtrot\n' >d1/d2/d3/f.txt
printf 'golf\n' >gone-dir/g.txt
printf 'hotel\n' >gone-dir/sub/h.txt
printf 'india\n' >will-be-dir
printf 'juliett\n' >will-be-file/j.txt
printf 'kilo\n' >will-be-link
ln -s a.txt link
mkfifo pipe
find . -exec touch -h -d @1600000000 {} +
