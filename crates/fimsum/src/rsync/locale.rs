//! The process locale's charset, asked of the C library the way rsync asks it.
//!
//! rsync calls `setlocale(LC_CTYPE, "")` at start-up and escapes names according to
//! `nl_langinfo(CODESET)`. Asking the C library (instead of parsing LANG ourselves) keeps
//! fimsum right when a named locale is not installed: the C library then falls back to
//! "C", exactly as it does for rsync.

use std::ffi::CStr;
use std::sync::OnceLock;

/// The codeset name of the environment's LC_CTYPE locale, e.g. "UTF-8" or "ANSI_X3.4-1968".
pub(super) fn codeset() -> String {
    static CODESET: OnceLock<String> = OnceLock::new();
    CODESET.get_or_init(read_codeset).clone()
}

fn read_codeset() -> String {
    // SAFETY: setlocale and nl_langinfo are called once, from the OnceLock initialiser, and
    // fimsum changes the locale nowhere else; the string nl_langinfo returns is copied before
    // anything else could call into the locale functions.
    unsafe {
        if libc::setlocale(libc::LC_CTYPE, c"".as_ptr()).is_null() {
            return String::new();
        }
        let ptr = libc::nl_langinfo(libc::CODESET);
        if ptr.is_null() {
            return String::new();
        }
        CStr::from_ptr(ptr).to_string_lossy().into_owned()
    }
}
