//! Standard output, with the rules a command-line tool owes its pipeline: a reader that goes
//! away (`nlsel show | head -1`) is not an error and gets no message, `-q` prints nothing, and
//! each line can be flushed at once for journald.

use std::io::{self, BufWriter, Write};

pub struct Output {
    writer: BufWriter<io::Stdout>,
    quiet: bool,
    /// Flush after every line, for a long-running process whose lines journald shows live.
    flush_each_line: bool,
    closed: bool,
    error: Option<io::Error>,
}

impl Output {
    pub fn new(quiet: bool) -> Self {
        Output {
            writer: BufWriter::new(io::stdout()),
            quiet,
            flush_each_line: false,
            closed: false,
            error: None,
        }
    }

    /// Writes one line; after a write error nothing more is written.
    pub fn line(&mut self, text: &str) {
        if self.quiet || self.closed {
            return;
        }
        let result = self
            .writer
            .write_all(text.as_bytes())
            .and_then(|()| self.writer.write_all(b"\n"));
        self.note(result);
        if self.flush_each_line {
            self.flush();
        }
    }

    pub fn set_flush_each_line(&mut self, flush_each_line: bool) {
        self.flush_each_line = flush_each_line;
    }

    pub fn flush(&mut self) {
        if self.closed {
            return;
        }
        let result = self.writer.flush();
        self.note(result);
    }

    fn note(&mut self, result: io::Result<()>) {
        if let Err(error) = result {
            self.closed = true;
            if error.kind() != io::ErrorKind::BrokenPipe {
                self.error = Some(error);
            }
        }
    }

    /// The first write error that was not a closed pipe, if one happened since the last call:
    /// a long-running process checks it after each line it writes, instead of at its end.
    pub fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }

    /// Flushes, and returns the first write error that was not a closed pipe.
    pub fn finish(mut self) -> Option<io::Error> {
        self.flush();
        // The buffer would be flushed again on drop; after a broken pipe, drop its content.
        if self.closed {
            let (_, _) = self.writer.into_parts();
        }
        self.error
    }
}

/// Writes one line to stderr, prefixed `nlsel: `. Unlike `eprintln!`, a closed or broken
/// stderr is ignored rather than a panic: a message nobody can read is not worth a crash.
pub fn diagnostic(message: std::fmt::Arguments<'_>) {
    let mut stderr = io::stderr().lock();
    let _ = writeln!(stderr, "nlsel: {message}");
}

/// `nlsel: warning: …` on stderr.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => {
        $crate::output::diagnostic(format_args!("warning: {}", format_args!($($arg)*)))
    };
}
