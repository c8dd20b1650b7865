//! Member offsets of kernel structs, read from the kernel's own BTF, for the few places a
//! program reads a kernel struct (`task_struct.pid` in the scheduler programs). Reading the
//! running kernel's BTF is what CO-RE relocations do; aya 0.14 has none for Rust programs.
use std::fs;

use anyhow::{bail, Context, Result};

const BTF_MAGIC: u16 = 0xeb9f;
const KIND_STRUCT: u32 = 4;

/// Byte offset of `member` in `struct name`, from the bytes of BTF file `path`.
pub fn member_offset(path: &str, data: &[u8], name: &str, member: &str) -> Result<u32> {
    member_offset_in(data, name, member).with_context(|| format!("{path}: struct {name}, member {member}"))
}

/// Reads BTF file `path` (sysfs serves it a page per read, so this takes a few milliseconds).
pub fn read(path: &str) -> Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("cannot read {path}"))
}

fn member_offset_in(data: &[u8], name: &str, member: &str) -> Result<u32> {
    let u16_at = |at: usize| -> Result<u16> {
        Ok(u16::from_le_bytes(data.get(at..at + 2).context("truncated BTF")?.try_into().unwrap()))
    };
    let u32_at = |at: usize| -> Result<u32> {
        Ok(u32::from_le_bytes(data.get(at..at + 4).context("truncated BTF")?.try_into().unwrap()))
    };
    if u16_at(0)? != BTF_MAGIC {
        bail!("not little-endian BTF");
    }
    let header_len = u32_at(4)? as usize;
    let (type_off, type_len) = (u32_at(8)? as usize, u32_at(12)? as usize);
    let str_off = u32_at(16)? as usize;
    let types = header_len + type_off;
    let strings = header_len + str_off;
    let string = |off: u32| -> &[u8] {
        let start = strings + off as usize;
        let rest = data.get(start..).unwrap_or_default();
        &rest[..rest.iter().position(|b| *b == 0).unwrap_or(rest.len())]
    };
    let mut at = types;
    while at < types + type_len {
        let (name_off, info) = (u32_at(at)?, u32_at(at + 4)?);
        let kind = (info >> 24) & 0x1f;
        let vlen = (info & 0xffff) as usize;
        let kind_flag = info >> 31 == 1;
        at += 12;
        if kind == KIND_STRUCT && string(name_off) == name.as_bytes() {
            for i in 0..vlen {
                let m = at + i * 12;
                if string(u32_at(m)?) == member.as_bytes() {
                    let offset = u32_at(m + 8)?;
                    // With kind_flag, the low 24 bits are the bit offset (bitfield size above).
                    let bits = if kind_flag { offset & 0x00ff_ffff } else { offset };
                    return Ok(bits / 8);
                }
            }
            bail!("no such member");
        }
        // Skip what follows the common part, by kind.
        at += match kind {
            1 | 14 | 17 => 4,             // int, var, decl_tag
            3 => 12,                       // array
            4 | 5 | 15 | 19 => vlen * 12,  // struct, union, datasec, enum64
            6 | 13 => vlen * 8,            // enum, func_proto
            _ => 0,                        // ptr, fwd, typedef, modifiers, func, float, type_tag
        };
    }
    bail!("no such struct")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_task_struct_pid_in_this_kernel() {
        let path = "/sys/kernel/btf/vmlinux";
        let data = read(path).unwrap();
        let pid = member_offset(path, &data, "task_struct", "pid").unwrap();
        let tgid = member_offset(path, &data, "task_struct", "tgid").unwrap();
        assert_eq!(tgid, pid + 4, "pid and tgid are adjacent pid_t fields");
        assert!(member_offset(path, &data, "task_struct", "no_such_member").is_err());
        assert!(member_offset(path, &data, "no_such_struct", "pid").is_err());
    }
}
