//! `tracer top`: the live view. The reader's thread builds a [`model::Snapshot`] each interval
//! and offers it to the UI thread without waiting (a slow terminal drops frames, never events);
//! the UI thread draws and reads keys, and sends back quit and reset.
mod model;
mod ui;

use std::{
    sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError},
    thread::JoinHandle,
};

use anyhow::{Context, Result};


pub use model::{histogram_bars, log2_buckets, text_table, Snapshot, SnapshotBuilder};

use crate::report::{
    sink::{Control, IntervalSink, Tick},
    rows::SortKey,
};

/// Full-screen view on a terminal.
pub struct TerminalView {
    snapshots: Option<SyncSender<Snapshot>>,
    builder: SnapshotBuilder,
    commands: Receiver<Control>,
    ui: Option<JoinHandle<()>>,
}

impl TerminalView {
    pub fn start(target: String, sort: SortKey) -> Result<Self> {
        let (snapshot_tx, snapshot_rx) = mpsc::sync_channel(1);
        let (command_tx, command_rx) = mpsc::channel();
        let ui = std::thread::Builder::new()
            .name("tracer-ui".into())
            .spawn(move || ui::run(target, sort, snapshot_rx, command_tx))
            .context("cannot start the UI thread")?;
        Ok(Self { snapshots: Some(snapshot_tx), builder: SnapshotBuilder::default(), commands: command_rx, ui: Some(ui) })
    }
}

impl IntervalSink for TerminalView {
    fn on_interval(&mut self, tick: &Tick) -> Result<Control> {
        if let Some(tx) = &self.snapshots {
            match tx.try_send(self.builder.build(tick)) {
                // The UI has not taken the previous frame yet: skip this one.
                Ok(()) | Err(TrySendError::Full(_)) => {}
                Err(TrySendError::Disconnected(_)) => return Ok(Control::Stop),
            }
        }
        let mut control = Control::Continue;
        loop {
            match self.commands.try_recv() {
                Ok(Control::Stop) | Err(TryRecvError::Disconnected) => return Ok(Control::Stop),
                Ok(command) => control = command,
                Err(TryRecvError::Empty) => return Ok(control),
            }
        }
    }
}

impl Drop for TerminalView {
    fn drop(&mut self) {
        // Closing the channel tells the UI thread to leave; it restores the terminal.
        self.snapshots = None;
        if let Some(ui) = self.ui.take() {
            let _ = ui.join();
        }
    }
}

/// Plain periodic table, when stdout is not a terminal.
pub struct TextView {
    sort: SortKey,
    builder: SnapshotBuilder,
}

impl TextView {
    pub fn new(sort: SortKey) -> Self {
        Self { sort, builder: SnapshotBuilder::default() }
    }
}

impl IntervalSink for TextView {
    fn on_interval(&mut self, tick: &Tick) -> Result<Control> {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        write!(out, "{}", text_table(&self.builder.build(tick), self.sort))?;
        out.flush()?;
        Ok(Control::Continue)
    }
}
