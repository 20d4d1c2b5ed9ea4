//! Names cleaned as rsync cleans them before it uses them (`clean_fname`, `sanitize_path`):
//! lexically, component by component, without asking the file system, so that `a/../b`
//! is `b` whatever `a` is. One rule for the three places that need it: `--files-from`
//! names, `-R` sources and the directories a dir-merge rule's file name points into.

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
}
