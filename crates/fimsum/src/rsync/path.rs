//! Names cleaned as rsync cleans them before it uses them (`clean_fname`, `sanitize_path`):
//! lexically, component by component, without asking the file system. The same rules for
//! every place that needs them: `--files-from` names, `-R` sources and the directories a
//! dir-merge rule's file name points into.

/// The components of `path`, empty ones dropped, each `..` taking out the component before
/// it (and nothing at the top: a name never climbs above where it starts), `.` components
/// dropped unless `keep_dots`.
pub(crate) fn components(path: &[u8], keep_dots: bool) -> Vec<&[u8]> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in path.split(|&b| b == b'/') {
        match part {
            b"" => {}
            b"." if !keep_dots => {}
            b".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts
}

/// A path as rsync's `clean_fname` leaves it: empty and `.` components and the trailing
/// slash dropped, `..` kept (`a/../b` names `a/..`'s `b`, which only the file system
/// knows); `.` for nothing left. A leading `/` stays.
pub(crate) fn clean_fname(path: &[u8]) -> Vec<u8> {
    let parts: Vec<&[u8]> = path
        .split(|&b| b == b'/')
        .filter(|part| !matches!(*part, b"" | b"."))
        .collect();
    match (path.first() == Some(&b'/'), parts.is_empty()) {
        (true, _) => [&b"/"[..], &parts.join(&b'/')].concat(),
        (false, true) => b".".to_vec(),
        (false, false) => parts.join(&b'/'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_dot_takes_out_the_component_before_it_and_no_more() {
        let joined = |p: &[u8], keep| components(p, keep).join(&b'/');
        assert_eq!(joined(b"/a//b/./c/../d/", false), b"a/b/d");
        assert_eq!(joined(b"../../a/./b", false), b"a/b");
        assert_eq!(joined(b"./a/./b/..", true), b"./a/.");
        assert!(components(b"/./", false).is_empty());
    }

    #[test]
    fn clean_fname_keeps_dot_dot_and_the_leading_slash() {
        assert_eq!(clean_fname(b"a//./b/../c/"), b"a/b/../c");
        assert_eq!(clean_fname(b"/./x/."), b"/x");
        assert_eq!(clean_fname(b"./"), b".");
        assert_eq!(clean_fname(b"/"), b"/");
    }
}
