//! Real nginx and squid on loopback, each in its own temporary directory with its own
//! configuration, logs and pid file, killed (and the directory removed) when dropped.
//!
//! The programs come from the system's packages (`nginx-light`, `squid` on Debian).
//! `cargo xtask ci` installs them when they are missing; run directly, these tests fail with
//! the command that installs them, unless `CYGNET_SKIP_REAL_SERVERS=1` asks to skip them.

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The host name only squid can resolve (through its own hosts file).
pub const PROXY_ONLY_HOST: &str = "api.cygnet.test";

/// A destination squid refuses (403) to everyone.
pub const FORBIDDEN_HOST: &str = "forbidden.cygnet.test";

/// How long a server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The command that installs the servers on Debian.
pub const INSTALL_COMMAND: &str = "apt-get update && apt-get install -y nginx-light squid";

/// Where a program is: `PATH`, then the sbin directories a non-root `PATH` often lacks.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// nginx and squid, or `None` (said loudly) when they are missing and skipping was asked for.
///
/// # Panics
/// When they are missing and `CYGNET_SKIP_REAL_SERVERS` is not `1`: with the install command.
pub fn programs() -> Option<(PathBuf, PathBuf)> {
    match (find_program("nginx"), find_program("squid")) {
        (Some(nginx), Some(squid)) => Some((nginx, squid)),
        _ if std::env::var("CYGNET_SKIP_REAL_SERVERS").as_deref() == Ok("1") => {
            eprintln!(
                "\n!!! SKIPPED: nginx or squid is not installed and CYGNET_SKIP_REAL_SERVERS=1; \
                 the tests against real servers did NOT run !!!\n"
            );
            None
        }
        _ => panic!(
            "nginx and squid are needed for the tests against real servers. Install them \
             (as root) with `{INSTALL_COMMAND}`, or set CYGNET_SKIP_REAL_SERVERS=1 to skip \
             these tests"
        ),
    }
}

/// The `openssl` program, or `None` (said loudly) when it is missing and skipping was asked
/// for; panics with the install command otherwise, as [`programs`] does.
pub fn openssl() -> Option<PathBuf> {
    match find_program("openssl") {
        Some(openssl) => Some(openssl),
        None if std::env::var("CYGNET_SKIP_REAL_SERVERS").as_deref() == Ok("1") => {
            eprintln!(
                "\n!!! SKIPPED: openssl is not installed and CYGNET_SKIP_REAL_SERVERS=1; the \
                 tests with certificates made by openssl did NOT run !!!\n"
            );
            None
        }
        None => panic!(
            "openssl is needed for the tests against real servers. Install it (as root) with \
             `apt-get install -y openssl`, or set CYGNET_SKIP_REAL_SERVERS=1 to skip these tests"
        ),
    }
}

/// Runs `openssl args...` in `dir`; panics with its output if it fails.
fn run_openssl(openssl: &Path, dir: &Path, args: &[&str]) {
    let output = Command::new(openssl)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        output.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Pki {
    /// What Debian's `make-ssl-cert` leaves in `/etc/ssl/certs/ssl-cert-snakeoil.pem`, made
    /// by `openssl` in `dir`: a self-signed leaf that says `CA:FALSE` (as `ca_pem`, though it
    /// is none), and a server certificate for `localhost` and 127.0.0.1 signed with its key,
    /// as anyone who can read that key could make.
    pub fn signed_by_snakeoil(openssl: &Path, dir: &TempDir) -> Self {
        let run = |args: &[&str]| run_openssl(openssl, dir.path(), args);
        dir.write(
            "snakeoil.ext",
            "basicConstraints=critical,CA:FALSE\nsubjectAltName=DNS:snakeoil\n",
            0o644,
        );
        dir.write(
            "server.ext",
            "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n\
             extendedKeyUsage=serverAuth\n",
            0o644,
        );
        for name in ["snakeoil", "server"] {
            let (key, csr, subject) = (
                format!("{name}.key"),
                format!("{name}.csr"),
                format!("/CN={name}"),
            );
            run(&[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &csr,
                "-subj",
                &subject,
            ]);
        }
        run(&[
            "x509",
            "-req",
            "-in",
            "snakeoil.csr",
            "-key",
            "snakeoil.key",
            "-days",
            "2",
            "-extfile",
            "snakeoil.ext",
            "-out",
            "snakeoil.pem",
        ]);
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "snakeoil.pem",
            "-CAkey",
            "snakeoil.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ]);
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).expect(name);
        Self {
            ca_pem: read("snakeoil.pem"),
            server_cert_pem: read("server.pem"),
            server_key_pem: read("server.key"),
        }
    }
}

/// A certificate directory as `/etc/ssl/certs` is one: each `(name, pem)` in its own file,
/// plus the hashed names `openssl rehash` links to them.
pub fn cert_dir(openssl: &Path, files: &[(&str, &str)]) -> TempDir {
    let dir = TempDir::new("certs");
    for (name, pem) in files {
        dir.write(name, pem, 0o644);
    }
    run_openssl(openssl, dir.path(), &["rehash", "."]);
    dir
}

/// A directory of its own under the system's temporary directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(what: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "cygnet-{what}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&path).expect("create temporary directory");
        // The servers' unprivileged workers must write their logs here.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777))
            .expect("open temporary directory");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `contents` to `name` in the directory, readable by every user; its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>, mode: u32) -> PathBuf {
        let path = self.0.join(name);
        let mut file = std::fs::File::create(&path).expect("create file");
        file.write_all(contents.as_ref()).expect("write file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A free loopback port (bound, then released for a server to take).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("free port")
        .port()
}

/// Word `index` (the key is word 0) of the line of `/proc/self/status` that starts with
/// `key`, e.g. `("VmHWM:", 1)`; `None` where there is no such file, line or word.
pub fn own_status_field(key: &str, index: usize) -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(key))?;
    line.split_whitespace().nth(index).map(str::to_owned)
}

/// Whether this process runs as root (then the servers drop to an unprivileged user): its
/// effective user id, the third word of the `Uid:` line, is 0.
fn is_root() -> bool {
    own_status_field("Uid:", 2).as_deref() == Some("0")
}

/// A running server process, killed on drop.
struct Process {
    name: &'static str,
    child: Child,
    /// The log to show when it fails to start.
    log: PathBuf,
}

impl Process {
    fn spawn(name: &'static str, command: &mut Command, log: PathBuf, ports: &[u16]) -> Self {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let mut process = Self { name, child, log };
        for port in ports {
            process.wait_for_port(*port);
        }
        process
    }

    fn wait_for_port(&mut self, port: u16) {
        let deadline = Instant::now() + START_TIMEOUT;
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        loop {
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut pipe) = self.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
                }
                panic!(
                    "{} exited ({status}) before listening on {port}\nstderr: {stderr}\nlog: {}",
                    self.name,
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not listen on {port} within {START_TIMEOUT:?}; log: {}",
                self.name,
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A test CA and a server certificate it signed for `localhost`, [`PROXY_ONLY_HOST`] and
/// 127.0.0.1, made with rcgen.
pub struct Pki {
    pub ca_pem: String,
    pub server_cert_pem: String,
    pub server_key_pem: String,
}

impl Pki {
    pub fn new() -> Self {
        let ca_key = rcgen::KeyPair::generate().expect("CA key");
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "cygnet test CA");
        let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
        let key = rcgen::KeyPair::generate().expect("server key");
        let server = rcgen::CertificateParams::new(vec![
            "localhost".to_owned(),
            PROXY_ONLY_HOST.to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .expect("server params");
        let cert = server
            .signed_by(&key, &ca_cert, &ca_key)
            .expect("server certificate");
        Self {
            ca_pem: ca_cert.pem(),
            server_cert_pem: cert.pem(),
            server_key_pem: key.serialize_pem(),
        }
    }
}

/// nginx terminating TLS with the test certificate, in front of the backend on
/// `backend_port`: one port offers HTTP/2 and HTTP/1.1 (ALPN), the other HTTP/1.1 only.
/// Both forward unbuffered, so events pass as they come. One process (`master_process off`),
/// so that killing it leaves no worker behind.
pub struct Nginx {
    _process: Process,
    pub h2_port: u16,
    pub h1_port: u16,
    dir: TempDir,
}

impl Nginx {
    pub fn start(program: &Path, pki: &Pki, backend_port: u16) -> Self {
        let dir = TempDir::new("nginx");
        let d = dir.path().display().to_string();
        let cert = dir.write("server.pem", &pki.server_cert_pem, 0o644);
        let key = dir.write("server.key", &pki.server_key_pem, 0o644);
        let (h2_port, h1_port) = (free_port(), free_port());
        let user = if is_root() { "user root root;" } else { "" };
        let location = format!(
            "location / {{ proxy_pass http://127.0.0.1:{backend_port}; proxy_http_version 1.1; \
             proxy_buffering off; proxy_read_timeout 60s; }}"
        );
        let conf = format!(
            "daemon off;\nmaster_process off;\n{user}\npid {d}/nginx.pid;\n\
             error_log {d}/error.log warn;\nworker_rlimit_nofile 16384;\n\
             events {{ worker_connections 8192; }}\n\
             http {{\n  access_log {d}/access.log;\n  keepalive_requests 100000;\n\
               client_body_temp_path {d}/client_body;\n  proxy_temp_path {d}/proxy_temp;\n\
               fastcgi_temp_path {d}/fastcgi_temp;\n  uwsgi_temp_path {d}/uwsgi_temp;\n\
               scgi_temp_path {d}/scgi_temp;\n\
               ssl_certificate {cert};\n  ssl_certificate_key {key};\n\
               server {{ listen 127.0.0.1:{h2_port} ssl http2 backlog=4096; {location} }}\n\
               server {{ listen 127.0.0.1:{h1_port} ssl backlog=4096; {location} }}\n}}\n",
            cert = cert.display(),
            key = key.display(),
        );
        let conf_path = dir.write("nginx.conf", conf, 0o644);
        let log = dir.path().join("error.log");
        let mut command = Command::new(program);
        command
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf_path)
            .arg("-e")
            .arg(&log);
        let process = Process::spawn("nginx", &mut command, log, &[h2_port, h1_port]);
        Self {
            _process: process,
            h2_port,
            h1_port,
            dir,
        }
    }

    /// nginx's access log.
    pub fn access_log_path(&self) -> PathBuf {
        self.dir.path().join("access.log")
    }

    /// nginx's error log so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

/// Credentials squid asks for when started with [`Squid::with_credentials`].
pub const PROXY_USER: &str = "cygnet";
/// The password of [`PROXY_USER`].
pub const PROXY_PASSWORD: &str = "proxy-s3cret";

/// squid as a forward proxy on loopback that resolves [`PROXY_ONLY_HOST`] (and `localhost`)
/// to 127.0.0.1 through its own hosts file, caches nothing and logs every request.
pub struct Squid {
    _process: Process,
    pub port: u16,
    dir: TempDir,
}

impl Squid {
    /// The service name squid runs under, unique per port.
    fn service_name(port: u16) -> String {
        format!("cygnet{port}")
    }
}

impl Drop for Squid {
    /// Removes the shared-memory segments a killed squid leaves behind (the process, killed
    /// right after, keeps its mappings until it exits).
    fn drop(&mut self) {
        let prefix = format!("{}-", Self::service_name(self.port));
        let Ok(entries) = std::fs::read_dir("/dev/shm") else {
            return;
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

impl Squid {
    /// A proxy that lets every client through.
    pub fn open(program: &Path) -> Self {
        Self::start(program, false)
    }

    /// A proxy that demands [`PROXY_USER`] and [`PROXY_PASSWORD`] (Basic).
    pub fn with_credentials(program: &Path) -> Self {
        Self::start(program, true)
    }

    fn start(program: &Path, credentials: bool) -> Self {
        let dir = TempDir::new("squid");
        let d = dir.path().display().to_string();
        let port = free_port();
        let hosts = dir.write(
            "hosts",
            format!("127.0.0.1 localhost {PROXY_ONLY_HOST}\n"),
            0o644,
        );
        // squid's helper protocol: one "user password" line in (URL-escaped), OK or ERR out.
        // A shell script keeps the test free of password-hashing tools.
        let helper = dir.write(
            "auth-helper.sh",
            format!(
                "#!/bin/sh\nwhile read -r user password; do\n  \
                 if [ \"$user\" = \"{PROXY_USER}\" ] && [ \"$password\" = \"{PROXY_PASSWORD}\" ]; \
                 then echo OK; else echo ERR; fi\ndone\n"
            ),
            0o755,
        );
        let access = if credentials {
            format!(
                "auth_param basic program /bin/sh {helper}\nauth_param basic children 2\n\
                 auth_param basic realm cygnet-test\nacl authenticated proxy_auth REQUIRED\n\
                 http_access allow authenticated\nhttp_access deny all\n",
                helper = helper.display()
            )
        } else {
            "http_access allow all\n".to_owned()
        };
        let user = std::fs::read_to_string("/etc/passwd")
            .ok()
            .filter(|passwd| passwd.lines().any(|l| l.starts_with("proxy:")))
            .map_or("nobody", |_| "proxy");
        let effective_user = if is_root() {
            format!("cache_effective_user {user}\n")
        } else {
            String::new()
        };
        let conf = format!(
            "acl forbidden dstdomain {FORBIDDEN_HOST}\nhttp_access deny forbidden\n\
             http_port 127.0.0.1:{port}\n{effective_user}pid_filename {d}/squid.pid\n\
             access_log stdio:{d}/access.log\ncache_log {d}/cache.log\ncache_store_log none\n\
             coredump_dir {d}\ncache deny all\ncache_mem 8 MB\nnetdb_filename none\n\
             logfile_rotate 0\nhosts_file {hosts}\nshutdown_lifetime 0 seconds\n\
             max_filedescriptors 4096\n{access}",
            hosts = hosts.display()
        );
        let conf_path = dir.write("squid.conf", conf, 0o644);
        let log = dir.path().join("cache.log");
        let mut command = Command::new(program);
        // A service name of its own: squid names its shared-memory segments after it, and
        // squids of tests running at once would otherwise race for the same ones.
        command
            .arg("-N")
            .arg("-d1")
            .arg("-n")
            .arg(Self::service_name(port))
            .arg("-f")
            .arg(&conf_path);
        let process = Process::spawn("squid", &mut command, log, &[port]);
        wait_until_squid_answers(port);
        Self {
            _process: process,
            port,
            dir,
        }
    }

    /// The proxy's URL, `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The proxy's URL with the right credentials.
    pub fn url_with_credentials(&self) -> String {
        format!(
            "http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{}",
            self.port
        )
    }

    /// Waits (bounded) until squid's access log has a line containing every one of `parts`,
    /// and returns the log; squid writes a tunnel's line when the tunnel closes.
    pub async fn wait_for_log_line(&self, parts: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let log = self.access_log();
            if log
                .lines()
                .any(|line| parts.iter().all(|part| line.contains(part)))
            {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "squid's access log has no line with {parts:?}:\n{log}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// squid's access log so far.
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }
}

/// Waits (bounded) until squid answers a request of its own on `port`: a listening port is
/// not yet a squid that handles requests (on a loaded machine it may drop the first ones),
/// and the tests must see its answers, not a start-up race.
fn wait_until_squid_answers(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if squid_answers(port) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "squid on port {port} did not answer within 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether squid on `port` answers a request for the forbidden host (which it refuses itself,
/// without any other server) with an HTTP status line.
fn squid_answers(port: u16) -> bool {
    use std::io::Read as _;
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET http://{FORBIDDEN_HOST}/ HTTP/1.0\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}
