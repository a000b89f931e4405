//! Command-line handling shared by the examples: `--help` prints the usage
//! to stdout and exits 0; an unknown or invalid argument prints the problem
//! and the usage to stderr and exits 2, before any report is printed.

use std::process::exit;

/// Why parsing stopped.
pub enum ArgError {
    /// `-h` or `--help`.
    Help,
    /// An unknown flag, a missing value or a value out of range.
    Invalid(String),
}

impl From<String> for ArgError {
    fn from(message: String) -> Self {
        ArgError::Invalid(message)
    }
}

/// The command-line arguments after the program name, as a cursor.
pub struct Args {
    args: Vec<String>,
    next: usize,
}

impl Args {
    /// The arguments this process was started with.
    pub fn from_env() -> Args {
        Args {
            args: std::env::args().skip(1).collect(),
            next: 0,
        }
    }

    /// The next flag, or `None` at the end; `-h`/`--help` stop parsing.
    pub fn flag(&mut self) -> Result<Option<String>, ArgError> {
        let Some(flag) = self.args.get(self.next).cloned() else {
            return Ok(None);
        };
        self.next += 1;
        if flag == "-h" || flag == "--help" {
            return Err(ArgError::Help);
        }
        Ok(Some(flag))
    }

    /// The value after `flag`, parsed and checked by `valid` (which names
    /// the accepted range when it fails).
    #[allow(dead_code)] // examples without valued flags (disentangle, figures)
    pub fn value<T: std::str::FromStr>(
        &mut self,
        flag: &str,
        valid: impl Fn(&T) -> Result<(), String>,
    ) -> Result<T, ArgError> {
        let Some(text) = self.args.get(self.next).cloned() else {
            return Err(ArgError::Invalid(format!("{flag} needs a value")));
        };
        self.next += 1;
        let value: T = text
            .parse()
            .map_err(|_| ArgError::Invalid(format!("{flag}: cannot read {text:?}")))?;
        valid(&value).map_err(|why| ArgError::Invalid(format!("{flag} {text}: {why}")))?;
        Ok(value)
    }
}

/// An unknown flag.
pub fn unknown(flag: &str) -> ArgError {
    ArgError::Invalid(format!("unknown argument {flag:?}"))
}

/// The settings, or the end of the process: usage on stdout and exit 0 for
/// `--help`, the problem and the usage on stderr and exit 2 otherwise.
pub fn settings_or_exit<T>(usage: &str, parsed: Result<T, ArgError>) -> T {
    match parsed {
        Ok(settings) => settings,
        Err(ArgError::Help) => {
            println!("{usage}");
            exit(0)
        }
        Err(ArgError::Invalid(message)) => {
            eprintln!("error: {message}");
            eprintln!("{usage}");
            exit(2)
        }
    }
}
