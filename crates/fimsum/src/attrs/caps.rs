//! File capabilities: the `security.capability` xattr in its three layouts (v1: 32
//! capabilities; v2: 64; v3: v2 plus the root uid of the user namespace they were set in),
//! decoded here and shown as `getcap` (libcap's `cap_to_text`) shows them.

/// The capability names of linux/capability.h, by number.
const NAMES: [&str; 41] = [
    "cap_chown",
    "cap_dac_override",
    "cap_dac_read_search",
    "cap_fowner",
    "cap_fsetid",
    "cap_kill",
    "cap_setgid",
    "cap_setuid",
    "cap_setpcap",
    "cap_linux_immutable",
    "cap_net_bind_service",
    "cap_net_broadcast",
    "cap_net_admin",
    "cap_net_raw",
    "cap_ipc_lock",
    "cap_ipc_owner",
    "cap_sys_module",
    "cap_sys_rawio",
    "cap_sys_chroot",
    "cap_sys_ptrace",
    "cap_sys_pacct",
    "cap_sys_admin",
    "cap_sys_boot",
    "cap_sys_nice",
    "cap_sys_resource",
    "cap_sys_time",
    "cap_sys_tty_config",
    "cap_mknod",
    "cap_lease",
    "cap_audit_write",
    "cap_audit_control",
    "cap_setfcap",
    "cap_mac_override",
    "cap_mac_admin",
    "cap_syslog",
    "cap_wake_alarm",
    "cap_block_suspend",
    "cap_audit_read",
    "cap_perfmon",
    "cap_bpf",
    "cap_checkpoint_restore",
];

const MAGIC_MASK: u32 = 0xff00_0000;
const EFFECTIVE: u32 = 0x1;
const V1: u32 = 0x0100_0000;
const V2: u32 = 0x0200_0000;
const V3: u32 = 0x0300_0000;

/// The capabilities a file grants when it is executed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Caps {
    /// The layout's version: 1, 2 or 3.
    pub version: u8,
    /// The effective flag: what is permitted is also effective at once.
    pub effective: bool,
    /// The permitted set, one bit per capability number.
    pub permitted: u64,
    /// The inheritable set.
    pub inheritable: u64,
    /// Version 3: the uid that is root in the user namespace the capabilities were set in.
    pub rootid: Option<u32>,
}

impl Caps {
    /// Decode the xattr's value; why not, for a value the kernel would not have written.
    pub fn decode(value: &[u8]) -> Result<Caps, String> {
        let word = |i: usize| -> u32 {
            let mut b = [0u8; 4];
            b.copy_from_slice(&value[i * 4..i * 4 + 4]);
            u32::from_le_bytes(b)
        };
        if value.len() < 4 {
            return Err(format!("capability xattr of {} bytes", value.len()));
        }
        let magic = word(0);
        let (version, len) = match magic & MAGIC_MASK {
            V1 => (1, 12),
            V2 => (2, 20),
            V3 => (3, 24),
            other => return Err(format!("unknown capability version {:#x}", other >> 24)),
        };
        if value.len() != len {
            return Err(format!(
                "capability xattr version {version} of {} bytes, not {len}",
                value.len()
            ));
        }
        if magic & !MAGIC_MASK & !EFFECTIVE != 0 {
            return Err(format!("unknown capability flags {magic:#x}"));
        }
        let mut permitted = u64::from(word(1));
        let mut inheritable = u64::from(word(2));
        if version >= 2 {
            permitted |= u64::from(word(3)) << 32;
            inheritable |= u64::from(word(4)) << 32;
        }
        Ok(Caps {
            version,
            effective: magic & EFFECTIVE != 0,
            permitted,
            inheritable,
            rootid: (version == 3).then(|| word(5)),
        })
    }

    /// The effective set as the kernel applies it: with the flag, all of the permitted and
    /// inheritable ones (libcap reads a file's sets so too).
    pub fn effective_set(&self) -> u64 {
        if self.effective {
            self.permitted | self.inheritable
        } else {
            0
        }
    }

    /// Capabilities in `self` that `old` did not grant, in any set: the capabilities were
    /// widened (a new one, or one made effective or permitted).
    pub fn widens(&self, old: &Caps) -> bool {
        self.permitted & !old.permitted != 0
            || self.inheritable & !old.inheritable != 0
            || self.effective_set() & !old.effective_set() != 0
    }

    /// The names of the capabilities in any set, for a detector's detail.
    pub fn names(&self) -> Vec<String> {
        let all = self.permitted | self.inheritable;
        (0..64).filter(|n| all >> n & 1 != 0).map(name).collect()
    }

    /// The text `getcap` prints, e.g. `cap_net_admin,cap_net_raw=ep` or
    /// `cap_setuid=ep [rootid=1000]` (libcap's form: the state most capabilities share is
    /// the base, `=` with its flags; then each other state with its capabilities, `+` for
    /// flags beyond the base and `-` for those below it).
    pub fn text(&self) -> String {
        // Bits per capability: e = 1, p = 2, i = 4 (libcap's LIBCAP_EFF/PER/INH).
        let eff = self.effective_set();
        let state = |n: usize| -> usize {
            let bit = |set: u64| (set >> n & 1) as usize;
            bit(eff) | bit(self.permitted) << 1 | bit(self.inheritable) << 2
        };
        // Numbers past the named ones count only where set (libcap knows only as many
        // capabilities as the kernel).
        let shown = |n: usize| n < NAMES.len() || state(n) != 0;
        let mut histo = [0usize; 8];
        for n in 0..NAMES.len() {
            histo[state(n)] += 1;
        }
        let mut base = 7;
        for t in (0..7).rev() {
            if histo[t] >= histo[base] {
                base = t;
            }
        }
        for n in (NAMES.len()..64).filter(|&n| shown(n)) {
            histo[state(n)] += 1;
        }
        let letters = |s: usize| {
            let mut l = String::new();
            for (bit, c) in [(1, 'e'), (4, 'i'), (2, 'p')] {
                if s & bit != 0 {
                    l.push(c);
                }
            }
            l
        };
        let mut out = format!("={}", letters(base));
        let mut first = true;
        for t in (0..8).rev() {
            if t == base || histo[t] == 0 {
                continue;
            }
            out.push(' ');
            let caps: Vec<String> = (0..64)
                .filter(|&n| shown(n) && state(n) == t)
                .map(name)
                .collect();
            out.push_str(&caps.join(","));
            let raised = t & !base;
            if raised != 0 {
                // libcap: on an empty base ("="), the first group is set with `=`.
                let op = if first && base == 0 { '=' } else { '+' };
                out.push(op);
                out.push_str(&letters(raised));
            }
            let lowered = !t & base & 7;
            if lowered != 0 {
                out.push('-');
                out.push_str(&letters(lowered));
            }
            first = false;
        }
        let mut text = match out.strip_prefix("= ") {
            Some(rest) => rest.to_string(),
            None => out,
        };
        if let Some(id) = self.rootid.filter(|&id| id != 0) {
            text.push_str(&format!(" [rootid={id}]"));
        }
        text
    }
}

fn name(n: usize) -> String {
    match NAMES.get(n) {
        Some(name) => (*name).to_string(),
        None => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(magic: u32, permitted: u64, inheritable: u64) -> Vec<u8> {
        let mut v = Vec::new();
        for w in [
            magic,
            permitted as u32,
            inheritable as u32,
            (permitted >> 32) as u32,
            (inheritable >> 32) as u32,
        ] {
            v.extend_from_slice(&w.to_le_bytes());
        }
        v
    }

    #[test]
    fn the_three_layouts_decode() {
        let setuid = 1 << 7;
        let caps = Caps::decode(&v2(V2 | EFFECTIVE, setuid, 0)).unwrap();
        assert_eq!(caps.text(), "cap_setuid=ep");
        assert_eq!(caps.rootid, None);
        let mut v3 = v2(V3 | EFFECTIVE, setuid, 0);
        v3.extend_from_slice(&1000u32.to_le_bytes());
        let caps = Caps::decode(&v3).unwrap();
        assert_eq!((caps.version, caps.rootid), (3, Some(1000)));
        assert_eq!(caps.text(), "cap_setuid=ep [rootid=1000]");
        let mut v1 = Vec::new();
        for w in [V1, 1 << 13 | 1 << 12, 0] {
            v1.extend_from_slice(&w.to_le_bytes());
        }
        let caps = Caps::decode(&v1).unwrap();
        assert_eq!(caps.text(), "cap_net_admin,cap_net_raw=p");
        // A capability above 31 needs version 2.
        let caps = Caps::decode(&v2(V2, 1 << 39, 1 << 39)).unwrap();
        assert_eq!(caps.text(), "cap_bpf=ip");
    }

    #[test]
    fn what_the_kernel_would_refuse_is_an_error() {
        assert!(Caps::decode(b"").is_err());
        assert!(Caps::decode(&v2(V2, 1, 0)[..16]).is_err());
        assert!(Caps::decode(&v2(0x0400_0000, 1, 0)).is_err());
        assert!(Caps::decode(&v2(V2 | 0x10, 1, 0)).is_err());
    }

    #[test]
    fn widening_is_any_capability_or_flag_gained() {
        let old = Caps::decode(&v2(V2, 1 << 10, 0)).unwrap();
        let effective = Caps::decode(&v2(V2 | EFFECTIVE, 1 << 10, 0)).unwrap();
        let more = Caps::decode(&v2(V2, 1 << 10 | 1 << 7, 0)).unwrap();
        assert!(effective.widens(&old) && more.widens(&old));
        assert!(!old.widens(&effective) && !old.widens(&more) && !old.widens(&old));
    }

    #[test]
    fn several_states_are_shown_as_libcap_shows_them() {
        // As getcap shows `setcap 'cap_chown,cap_kill+p cap_setuid+i'`.
        let caps = Caps {
            version: 2,
            effective: false,
            permitted: 1 | 1 << 5,
            inheritable: 1 << 7,
            rootid: None,
        };
        assert_eq!(caps.text(), "cap_setuid=i cap_chown,cap_kill+p");
        let all = Caps {
            version: 2,
            effective: true,
            permitted: (1 << 41) - 1,
            inheritable: 0,
            rootid: None,
        };
        assert_eq!(all.text(), "=ep");
    }
}
