//! Running an external program with a deadline, killing its whole process group on expiry.
//!
//! Used for the few facts no file holds (dmidecode on kernels without the sysfs SMBIOS table,
//! MegaCli) and for custom plugins. The child gets its own process group so a shell plugin's
//! grandchildren die with it, and stdout is drained on a thread so a chatty child never blocks.

use std::io::{self, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Why a command produced no usable output.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The program could not be started.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// Program path.
        program: String,
        /// Underlying error.
        source: io::Error,
    },
    /// The deadline passed; the process group was killed.
    #[error("timed out after {}", humantime::format_duration(*.0))]
    TimedOut(Duration),
    /// Printed more than the bound; the process group was killed.
    #[error("printed more than {0} bytes on stdout")]
    TooMuchOutput(u64),
    /// Exited non-zero or by a signal.
    #[error("exited with {status}{}", if .stderr.is_empty() { String::new() } else { format!(": {}", .stderr) })]
    Failed {
        /// Exit status as text.
        status: String,
        /// First line of stderr, if any.
        stderr: String,
    },
}

/// Most stdout kept from a system command (MegaCli on a full JBOD chassis prints a few MB).
pub const MAX_COMMAND_OUTPUT: u64 = 32 << 20;

/// Runs `program args...` and returns its stdout, or an error after `timeout`.
pub fn run_with_timeout(program: &Path, args: &[&str], timeout: Duration) -> Result<Vec<u8>, CommandError> {
    run_bounded(program, args, timeout, MAX_COMMAND_OUTPUT)
}

/// [`run_with_timeout`], refusing (and killing) a program that prints more than `max_output` bytes.
pub fn run_bounded(program: &Path, args: &[&str], timeout: Duration, max_output: u64) -> Result<Vec<u8>, CommandError> {
    use std::os::unix::process::CommandExt;

    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|source| CommandError::Spawn { program: program.display().to_string(), source })?;

    let pid = child.id();
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let result = stdout.by_ref().take(max_output + 1).read_to_end(&mut out).map(|_| out);
        let _ = tx.send(result);
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.by_ref().take(64 * 1024).read_to_end(&mut buf);
        buf
    });

    let out = match rx.recv_timeout(timeout) {
        Ok(Ok(out)) if out.len() as u64 > max_output => {
            kill_group(pid);
            let _ = child.wait();
            return Err(CommandError::TooMuchOutput(max_output));
        }
        Ok(result) => result,
        Err(_) => {
            kill_group(pid);
            let _ = child.wait();
            return Err(CommandError::TimedOut(timeout));
        }
    };
    let status =
        child.wait().map_err(|source| CommandError::Spawn { program: program.display().to_string(), source })?;
    let stderr = err_reader.join().unwrap_or_default();
    let out = out.map_err(|source| CommandError::Spawn { program: program.display().to_string(), source })?;
    if !status.success() {
        let first_line = String::from_utf8_lossy(&stderr).lines().next().unwrap_or("").trim().to_owned();
        return Err(CommandError::Failed { status: status.to_string(), stderr: first_line });
    }
    Ok(out)
}

fn kill_group(pid: u32) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

/// The first of `candidates` that exists and is executable.
pub fn find_program(candidates: &[&str]) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    candidates.iter().map(Path::new).find_map(|p| {
        let meta = std::fs::metadata(p).ok()?;
        (meta.is_file() && meta.permissions().mode() & 0o111 != 0).then(|| p.to_path_buf())
    })
}
