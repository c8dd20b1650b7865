//! Panics. One in a parser of what a traced process controls (its binaries) is contained: that
//! input loses its names, the trace goes on, and nothing reaches the operator's terminal but the
//! count of unnamed frames. Any other prints one line, never a backtrace, and ends tracer.
use std::{
    cell::Cell,
    panic::{self, AssertUnwindSafe},
};

thread_local! {
    static CONTAINED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `parse`; a panic in it is returned as an error, and says nothing.
pub fn contained<T>(parse: impl FnOnce() -> T) -> std::thread::Result<T> {
    let outer = CONTAINED.with(|c| c.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(parse));
    CONTAINED.with(|c| c.set(outer));
    result
}

/// Whether this thread is inside [`contained`].
pub fn is_contained() -> bool {
    CONTAINED.with(Cell::get)
}

/// The process's panic hook: silent within [`contained`], else one line.
pub fn install_hook() {
    panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload.downcast_ref::<&str>().copied().or_else(|| payload.downcast_ref::<String>().map(String::as_str)).unwrap_or("panic");
        let at = info.location().map(|l| format!(" ({}:{})", l.file(), l.line())).unwrap_or_default();
        if is_contained() {
            log::debug!("contained: {message}{at}");
        } else {
            eprintln!("tracer: internal error: {}{at}", message.replace('\n', " "));
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contained_panic_is_an_error_and_the_flag_is_restored() {
        let result = contained(|| -> u32 { panic!("malformed") });
        assert!(result.is_err());
        assert!(!CONTAINED.with(Cell::get));
        assert_eq!(contained(|| contained(|| 7).unwrap()).unwrap(), 7);
    }
}
