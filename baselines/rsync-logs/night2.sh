# Night 2: edit deep down, delete the escaped name and a whole subtree, add
# beside a space, retarget again.
printf 'GOLF\n' >dir/sub/g.txt
rm "$(printf 'nl\nname')"
rm -r new
printf 'lima\n' >'sp ace/l.txt'
rm dir/f.txt
ln -sfn 'sp ace' lnk
touch -h -d @1600200000 . dir dir/sub dir/sub/g.txt 'sp ace' 'sp ace/l.txt' lnk
