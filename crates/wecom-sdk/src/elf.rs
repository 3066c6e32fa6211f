//! Reads a file's ELF header before anything asks the dynamic loader to map it, so a wrong file
//! (a zip, an HTML page, a Windows DLL, a 32-bit or ARM build) is named in plain words instead of
//! the loader's terse "invalid ELF header" or "wrong ELF class".

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::LoadError;

const ELF_MAGIC: &[u8; 4] = b"\x7fELF";
const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
const ELFDATA2MSB: u8 = 2;
const ET_DYN: u16 = 3;

/// `e_machine` values the vendor library is (or might be) built for, and the usual others.
pub(crate) const EM_X86_64: u16 = 62;
pub(crate) const EM_AARCH64: u16 = 183;

/// What the header says about a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ElfInfo {
    pub machine: u16,
}

/// Plain name of an `e_machine` value.
pub(crate) fn machine_name(machine: u16) -> String {
    match machine {
        3 => "32-bit x86 (i386)".to_owned(),
        8 => "MIPS".to_owned(),
        20 => "32-bit PowerPC".to_owned(),
        21 => "64-bit PowerPC".to_owned(),
        22 => "IBM s390".to_owned(),
        40 => "32-bit ARM".to_owned(),
        EM_X86_64 => "x86_64".to_owned(),
        EM_AARCH64 => "aarch64 (arm64)".to_owned(),
        243 => "RISC-V".to_owned(),
        258 => "LoongArch".to_owned(),
        other => format!("an unknown machine (e_machine {other})"),
    }
}

/// The `e_machine` of the machine this program was built for, when the vendor library exists for it.
pub(crate) fn host_machine() -> Option<u16> {
    match std::env::consts::ARCH {
        "x86_64" => Some(EM_X86_64),
        "aarch64" => Some(EM_AARCH64),
        _ => None,
    }
}

/// Checks that `path` is a 64-bit little-endian ELF shared object for this machine.
pub(crate) fn check(path: &Path) -> Result<ElfInfo, LoadError> {
    let mut file = File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => LoadError::NotFound {
            path: path.to_owned(),
        },
        _ => LoadError::Unreadable {
            path: path.to_owned(),
            message: e.to_string(),
        },
    })?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(LoadError::Unreadable {
            path: path.to_owned(),
            message: "it is a directory, not the library file".to_owned(),
        });
    }
    let mut header = [0u8; 64];
    let mut filled = 0;
    while filled < header.len() {
        match file.read(&mut header[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(LoadError::Unreadable {
                    path: path.to_owned(),
                    message: e.to_string(),
                });
            }
        }
    }
    parse(&header[..filled])
        .map_err(|what| LoadError::NotElf {
            path: path.to_owned(),
            what,
        })?
        .check_host(path)
}

impl ElfInfo {
    fn check_host(self, path: &Path) -> Result<ElfInfo, LoadError> {
        let host = std::env::consts::ARCH;
        if !matches!(self.machine, EM_X86_64 | EM_AARCH64) || host_machine() != Some(self.machine) {
            return Err(LoadError::WrongArchitecture {
                path: path.to_owned(),
                library: machine_name(self.machine),
                host: host.to_owned(),
            });
        }
        Ok(self)
    }
}

/// Reads the first bytes of a file. `Err` describes what the file is instead (for [`LoadError::NotElf`]).
pub(crate) fn parse(header: &[u8]) -> Result<ElfInfo, String> {
    if header.len() < 20 || !header.starts_with(ELF_MAGIC) {
        return Err(guess_kind(header));
    }
    let class = header[4];
    let data = header[5];
    let read_u16 = |at: usize| {
        let bytes = [header[at], header[at + 1]];
        if data == ELFDATA2MSB {
            u16::from_be_bytes(bytes)
        } else {
            u16::from_le_bytes(bytes)
        }
    };
    let machine = read_u16(18);
    if class != ELFCLASS64 {
        return Err(format!(
            "a 32-bit ELF file built for {} (the vendor library is 64-bit)",
            machine_name(machine)
        ));
    }
    if data != ELFDATA2LSB {
        return Err(format!(
            "a big-endian ELF file built for {}",
            machine_name(machine)
        ));
    }
    let kind = read_u16(16);
    if kind != ET_DYN {
        let what = match kind {
            1 => "an object file (.o)",
            2 => "an executable program",
            4 => "a core dump",
            _ => "an ELF file of an unknown type",
        };
        return Err(format!("{what}, not a shared library (.so)"));
    }
    Ok(ElfInfo { machine })
}

fn guess_kind(header: &[u8]) -> String {
    let text = |prefix: &[u8]| {
        let trimmed = header
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .map_or(&[][..], |i| &header[i..]);
        trimmed.len() >= prefix.len() && trimmed[..prefix.len()].eq_ignore_ascii_case(prefix)
    };
    if header.is_empty() {
        "an empty file".to_owned()
    } else if header.starts_with(b"PK\x03\x04") {
        "a zip archive (unpack libWeWorkFinanceSdk_C.so from the SDK download first)".to_owned()
    } else if header.starts_with(&[0x1f, 0x8b]) {
        "a gzip archive (unpack libWeWorkFinanceSdk_C.so from it first)".to_owned()
    } else if header.starts_with(b"MZ") {
        "a Windows DLL or program; the Linux libWeWorkFinanceSdk_C.so is needed".to_owned()
    } else if matches!(
        header.get(..4),
        Some([0xcf, 0xfa, 0xed, 0xfe] | [0xce, 0xfa, 0xed, 0xfe] | [0xca, 0xfe, 0xba, 0xbe])
    ) {
        "a macOS (Mach-O) binary; the vendor library does not exist for macOS".to_owned()
    } else if text(b"<!doctype") || text(b"<html") || text(b"<?xml") {
        "an HTML or XML page (a failed download?)".to_owned()
    } else if text(b"version https://git-lfs") {
        "a Git LFS pointer, not the library itself".to_owned()
    } else if header.len() < 20 && header.starts_with(ELF_MAGIC) {
        "a truncated ELF file".to_owned()
    } else {
        "not an ELF shared library".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elf(class: u8, data: u8, kind: u16, machine: u16) -> Vec<u8> {
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(ELF_MAGIC);
        h[4] = class;
        h[5] = data;
        h[6] = 1;
        h[16..18].copy_from_slice(&kind.to_le_bytes());
        h[18..20].copy_from_slice(&machine.to_le_bytes());
        h
    }

    #[test]
    fn headers_are_read_in_plain_words() {
        let ok = parse(&elf(2, 1, 3, EM_X86_64)).expect("elf");
        assert_eq!(ok.machine, EM_X86_64);
        let arm = parse(&elf(2, 1, 3, EM_AARCH64)).expect("elf");
        assert_eq!(arm.machine, EM_AARCH64);

        let cases: [(&[u8], &str); 9] = [
            (b"", "an empty file"),
            (b"PK\x03\x04rest of the zip", "a zip archive"),
            (b"MZ\x90\x00", "a Windows DLL"),
            (&[0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1], "macOS"),
            (b"  <!DOCTYPE html><html>", "an HTML or XML page"),
            (
                b"version https://git-lfs.github.com/spec/v1",
                "Git LFS pointer",
            ),
            (b"\x7fELF\x02", "a truncated ELF file"),
            (&elf(1, 1, 3, 3), "a 32-bit ELF file built for 32-bit x86"),
            (&elf(2, 1, 2, EM_X86_64), "an executable program"),
        ];
        for (bytes, want) in cases {
            let got = parse(bytes).expect_err(want);
            assert!(got.contains(want), "{got:?} should mention {want:?}");
        }
        assert!(
            parse(&elf(2, 2, 3, 21))
                .expect_err("big endian")
                .contains("big-endian")
        );
    }

    #[test]
    fn a_library_for_another_machine_is_named() {
        let path = Path::new("/x/libWeWorkFinanceSdk_C.so");
        let other = if host_machine() == Some(EM_X86_64) {
            EM_AARCH64
        } else {
            EM_X86_64
        };
        let e = ElfInfo { machine: other }
            .check_host(path)
            .expect_err("wrong machine");
        let text = e.to_string();
        assert!(text.contains(&machine_name(other)), "{text}");
        assert!(text.contains(std::env::consts::ARCH), "{text}");
        let e = ElfInfo { machine: 40 }.check_host(path).expect_err("arm32");
        assert!(e.to_string().contains("32-bit ARM"), "{e}");
    }
}
