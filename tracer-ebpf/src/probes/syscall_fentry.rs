//! Per-syscall attachment, the alternative to the global syscall tracepoints for `-e` runs:
//! fentry/fexit on the selected syscalls' handlers (`__x64_sys_read`, ...). Processes that are
//! not traced, and syscalls that are not selected, pay nothing: the syscall fast path stays.
//!
//! A program is loaded for one target function, so there are `FENTRY_SLOTS` identical pairs;
//! the loader tells each entry program its syscall number through `FENTRY_NRS`.
use aya_ebpf::{
    helpers::bpf_get_current_pid_tgid,
    macros::{fentry, fexit, map},
    maps::Array,
    programs::{FEntryContext, FExitContext},
    EbpfContext,
};
use tracer_common::fentry::FENTRY_SLOTS;

use super::syscalls::{on_enter, on_exit};
use crate::maps::is_traced;

/// Syscall number of each fentry slot.
#[map]
static FENTRY_NRS: Array<u32> = Array::with_max_entries(FENTRY_SLOTS, 0);

#[inline(always)]
fn enter(ctx: &FEntryContext, slot: u32) -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    if !is_traced((pid_tgid >> 32) as u32) {
        return 0;
    }
    if let Some(nr) = FENTRY_NRS.get(slot) {
        // __x64_sys_NAME(const struct pt_regs *regs)
        on_enter(pid_tgid, *nr, ctx.arg(0));
    }
    0
}

#[inline(always)]
fn exit(ctx: &FExitContext) -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    if !is_traced((pid_tgid >> 32) as u32) {
        return 0;
    }
    // Arguments, then the return value.
    on_exit(ctx.as_ptr(), pid_tgid, ctx.arg(0), ctx.arg(1));
    0
}

macro_rules! slots {
    ($($slot:literal: $enter:ident, $exit:ident;)*) => {$(
        #[fentry]
        pub fn $enter(ctx: FEntryContext) -> i32 {
            enter(&ctx, $slot)
        }
        #[fexit]
        // Inlined into the macro's entry point, as `sys_exit` is.
        #[inline(always)]
        pub fn $exit(ctx: FExitContext) -> i32 {
            exit(&ctx)
        }
    )*};
}

slots! {
    0: fentry_0, fexit_0;
    1: fentry_1, fexit_1;
    2: fentry_2, fexit_2;
    3: fentry_3, fexit_3;
    4: fentry_4, fexit_4;
    5: fentry_5, fexit_5;
    6: fentry_6, fexit_6;
    7: fentry_7, fexit_7;
    8: fentry_8, fexit_8;
    9: fentry_9, fexit_9;
    10: fentry_10, fexit_10;
    11: fentry_11, fexit_11;
    12: fentry_12, fexit_12;
    13: fentry_13, fexit_13;
    14: fentry_14, fexit_14;
    15: fentry_15, fexit_15;
    16: fentry_16, fexit_16;
    17: fentry_17, fexit_17;
    18: fentry_18, fexit_18;
    19: fentry_19, fexit_19;
    20: fentry_20, fexit_20;
    21: fentry_21, fexit_21;
    22: fentry_22, fexit_22;
    23: fentry_23, fexit_23;
    24: fentry_24, fexit_24;
    25: fentry_25, fexit_25;
    26: fentry_26, fexit_26;
    27: fentry_27, fexit_27;
    28: fentry_28, fexit_28;
    29: fentry_29, fexit_29;
    30: fentry_30, fexit_30;
    31: fentry_31, fexit_31;
    32: fentry_32, fexit_32;
    33: fentry_33, fexit_33;
    34: fentry_34, fexit_34;
    35: fentry_35, fexit_35;
    36: fentry_36, fexit_36;
    37: fentry_37, fexit_37;
    38: fentry_38, fexit_38;
    39: fentry_39, fexit_39;
    40: fentry_40, fexit_40;
    41: fentry_41, fexit_41;
    42: fentry_42, fexit_42;
    43: fentry_43, fexit_43;
    44: fentry_44, fexit_44;
    45: fentry_45, fexit_45;
    46: fentry_46, fexit_46;
    47: fentry_47, fexit_47;
    48: fentry_48, fexit_48;
    49: fentry_49, fexit_49;
    50: fentry_50, fexit_50;
    51: fentry_51, fexit_51;
    52: fentry_52, fexit_52;
    53: fentry_53, fexit_53;
    54: fentry_54, fexit_54;
    55: fentry_55, fexit_55;
    56: fentry_56, fexit_56;
    57: fentry_57, fexit_57;
    58: fentry_58, fexit_58;
    59: fentry_59, fexit_59;
    60: fentry_60, fexit_60;
    61: fentry_61, fexit_61;
    62: fentry_62, fexit_62;
    63: fentry_63, fexit_63;
}
