//! Machine facts for the report (cores, RAM, CPU model, kernel) and the server's resident memory:
//! the pid is given or found by the local listening port (`/proc/net/tcp*` → socket inode →
//! `/proc/*/fd`), then `VmRSS` is read from `/proc/PID/status`. Linux only; `None` elsewhere.

use std::fs;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub total_ram_bytes: Option<u64>,
    pub cpu_model: Option<String>,
    pub kernel: Option<String>,
}

pub fn machine() -> Machine {
    Machine {
        cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        total_ram_bytes: fs::read_to_string("/proc/meminfo").ok().and_then(|s| kib_field(&s, "MemTotal:")),
        cpu_model: fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name")?.split_once(':').map(|(_, v)| v.trim().to_owned()))
        }),
        kernel: fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_owned()),
    }
}

/// A `Name:   123 kB` field of a /proc file, in bytes.
pub fn kib_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    let kib: u64 = line[name.len()..].split_whitespace().next()?.parse().ok()?;
    Some(kib * 1024)
}

/// Resident set size of a process, in bytes.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    kib_field(&fs::read_to_string(format!("/proc/{pid}/status")).ok()?, "VmRSS:")
}

/// True when `url` points at this machine (loopback or localhost).
pub fn local_port(url: &str) -> Option<u16> {
    let u = reqwest::Url::parse(url).ok()?;
    let host = u.host_str()?.trim_start_matches('[').trim_end_matches(']');
    let local = host == "localhost"
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified());
    local.then(|| u.port_or_known_default()).flatten()
}

/// The pid of the process listening on TCP `port`, when it is visible to us.
pub fn pid_listening_on(port: u16) -> Option<u32> {
    let inodes: Vec<u64> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|p| fs::read_to_string(p).ok())
        .flat_map(|t| listening_inodes(&t, port))
        .collect();
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let fds = fs::read_dir(entry.path().join("fd")).ok()?;
        fds.flatten()
            .any(|fd| {
                fs::read_link(fd.path()).is_ok_and(|l| wanted.iter().any(|w| l.as_os_str() == w.as_str()))
            })
            .then_some(pid)
    })
}

/// Socket inodes in LISTEN state (`0A`) on `port`, from a `/proc/net/tcp` table.
pub fn listening_inodes(table: &str, port: u16) -> Vec<u64> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local_port = u16::from_str_radix(f.get(1)?.rsplit(':').next()?, 16).ok()?;
            (local_port == port && *f.get(3)? == "0A").then(|| f.get(9)?.parse().ok()).flatten()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_tables() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
           0: 0100007F:20E4 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 123456 1 0\n\
           1: 0100007F:20E4 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 999 1 0\n";
        assert_eq!(listening_inodes(table, 0x20E4), vec![123456]);
        assert!(listening_inodes(table, 80).is_empty());
        assert_eq!(kib_field("VmPeak:\t 10 kB\nVmRSS:\t  2048 kB\n", "VmRSS:"), Some(2048 * 1024));
    }

    #[test]
    fn local_urls_and_own_process() {
        assert_eq!(local_port("http://127.0.0.1:8420"), Some(8420));
        assert_eq!(local_port("http://localhost"), Some(80));
        assert_eq!(local_port("http://example.com:8420"), None);
        let m = machine();
        assert!(m.cores >= 1);
        if cfg!(target_os = "linux") {
            assert!(rss_bytes(std::process::id()).unwrap_or(0) > 0);
            assert!(m.total_ram_bytes.unwrap_or(0) > 0);
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            assert_eq!(pid_listening_on(l.local_addr().unwrap().port()), Some(std::process::id()));
        }
    }
}
