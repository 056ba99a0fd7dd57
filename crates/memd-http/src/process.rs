//! Process and build metrics, read at scrape time and rendered as exposition text beside the
//! recorder's: resident memory, CPU seconds, open and maximum file descriptors, threads, start
//! time (from `/proc/self`; absent on systems without it) and `memd_build_info`. Rendered by hand
//! because a CPU-seconds counter is fractional, which the recorder's counters are not.

use std::fmt::Write;

/// One reading of this process.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct ProcessSample {
    pub resident_memory_bytes: u64,
    pub virtual_memory_bytes: u64,
    pub cpu_seconds: f64,
    pub open_fds: u64,
    pub max_fds: Option<u64>,
    pub threads: u64,
    pub start_time_seconds: f64,
}

/// Reads `/proc/self`; `None` where it does not exist.
pub fn sample() -> Option<ProcessSample> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    // `rest` starts at field 3 (state): utime is field 14, stime 15, threads 20, starttime 22,
    // vsize 23, rss 24 (pages) — at indexes 11, 12, 17, 19, 20, 21 here.
    let ticks = clock_ticks();
    let page = page_size();
    let boot = boot_time_seconds().unwrap_or(0.0);
    Some(ProcessSample {
        resident_memory_bytes: field(21)? * page,
        virtual_memory_bytes: field(20)?,
        cpu_seconds: (field(11)? + field(12)?) as f64 / ticks,
        open_fds: std::fs::read_dir("/proc/self/fd").map(|d| d.count() as u64).unwrap_or(0),
        max_fds: max_open_files(),
        threads: field(17)?,
        start_time_seconds: boot + field(19)? as f64 / ticks,
    })
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf only reads a system constant.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf only reads a system constant.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(p).ok().filter(|p| *p > 0).unwrap_or(4096)
}

fn boot_time_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines().find_map(|l| l.strip_prefix("btime "))?.trim().parse().ok()
}

fn max_open_files() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The memory this process may use: the cgroup v2 limit when one is set, else the machine's.
pub fn memory_limit_bytes() -> Option<u64> {
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok();
    if let Some(limit) = cgroup.and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(limit);
    }
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// `(total, available)` bytes of the file system holding `path`.
pub fn disk_usage(path: &std::path::Path) -> Option<(u64, u64)> {
    let st = statvfs(path)?;
    // The field types differ between targets (u32 on some 32-bit ones).
    #[allow(clippy::unnecessary_cast)]
    let (frsize, blocks, avail) = (st.f_frsize as u64, st.f_blocks as u64, st.f_bavail as u64);
    Some((blocks * frsize, avail * frsize))
}

/// Whether the file system holding `path` is mounted read-only (`None` when it cannot be read).
pub fn read_only_mount(path: &std::path::Path) -> Option<bool> {
    statvfs(path).map(|st| st.f_flag & libc::ST_RDONLY != 0)
}

fn statvfs(path: &std::path::Path) -> Option<libc::statvfs> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c_path` is a valid NUL-terminated string and `st` is written by statvfs on success.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it filled `st`.
    Some(unsafe { st.assume_init() })
}

fn metric(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
}

/// Exposition text of the process and build metrics.
pub fn render() -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP memd_build_info Build of the running memd (always 1).\n# TYPE memd_build_info gauge\n\
         memd_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    metric(&mut out, "memd_machine_cpus", "gauge", "CPUs this process may run on.", cpus);
    if let Some(limit) = memory_limit_bytes() {
        metric(
            &mut out,
            "memd_machine_memory_bytes",
            "gauge",
            "Memory this process may use (cgroup limit, else the machine's).",
            limit,
        );
    }
    if let Some(p) = sample() {
        metric(
            &mut out,
            "memd_process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            p.resident_memory_bytes,
        );
        metric(
            &mut out,
            "memd_process_virtual_memory_bytes",
            "gauge",
            "Virtual memory size in bytes.",
            p.virtual_memory_bytes,
        );
        metric(
            &mut out,
            "memd_process_cpu_seconds_total",
            "counter",
            "User and system CPU time in seconds.",
            p.cpu_seconds,
        );
        metric(&mut out, "memd_process_open_fds", "gauge", "Open file descriptors.", p.open_fds);
        if let Some(max) = p.max_fds {
            metric(&mut out, "memd_process_max_fds", "gauge", "Limit on open file descriptors.", max);
        }
        metric(&mut out, "memd_process_threads", "gauge", "OS threads of the process.", p.threads);
        metric(
            &mut out,
            "memd_process_start_time_seconds",
            "gauge",
            "Start time of the process since the Unix epoch in seconds.",
            p.start_time_seconds,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_measured() {
        let p = sample().expect("/proc exists on Linux");
        assert!(p.resident_memory_bytes > 1 << 20, "{p:?}");
        assert!(p.open_fds >= 3 && p.threads >= 1, "{p:?}");
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs_f64();
        assert!((now - p.start_time_seconds).abs() < 3600.0, "started within the hour: {p:?}");
        let text = render();
        for name in [
            "memd_build_info{version=",
            "memd_process_resident_memory_bytes ",
            "memd_process_cpu_seconds_total ",
        ] {
            assert!(text.contains(name), "{name} missing from\n{text}");
        }
    }
}
