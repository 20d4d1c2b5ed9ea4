# Night 1: edit, add a file and a directory, delete a file and a directory,
# retarget the symlink.
printf 'alpha, longer now\n' >a.txt
printf 'juliett\n' >j.txt
mkdir -p new/inner
printf 'kilo\n' >new/inner/k.txt
rm b.txt
rm -r gone
ln -sfn dir lnk
touch -h -d @1600100000 . a.txt j.txt new new/inner new/inner/k.txt lnk
